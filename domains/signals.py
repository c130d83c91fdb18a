"""What the domain services announce, so other apps can react in the same transaction without being imported here.

`domain_changed` is sent inside the transaction of every creation, status
change and deletion (domains/services/lifecycle.py), before the commit; a
receiver that raises rolls the change back. notifications/receivers.py writes
the event outbox from it.
"""

from django.dispatch import Signal

# kwargs: domain (the locked row, still present for a deletion), event_type
# ("domain.created", "domain.<status>", "domain.deleted"), previous_status ("" when created).
domain_changed = Signal()
