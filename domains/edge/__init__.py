"""Everything about the edge copy of the domains (the DynamoDB table the edge function reads).

- states:    the vocabulary (EdgeState for items, EdgeSync for progress) and the rule of what to hold
- outbox:    the one place a change is recorded (version bump + outbox row + dirty shard, in the caller's transaction)
- shards:    the edge's host map in shards: built from the database, written with the head, reconciled
- store:     the DynamoDB wrapper, the only Django-side code that talks to DynamoDB
- delivery:  outbox → DynamoDB: one row, a burst, the periodic sweep, pruning
- reconcile: whole-table comparison with the database, repaired through the outbox
- status:    how far each domain's newest change has got (read from the outbox)

Kept free of imports here: domains.models imports the states module.
"""
