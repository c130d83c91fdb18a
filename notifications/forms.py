"""Forms of the webhooks page. They validate input; notifications.webhooks decides (a refused URL is its call)."""

from django import forms

from notifications.events import EVENT_TYPES, WEBHOOK_TEST, event_label

CERTIFICATE_PREFIX = "domain.certificate."


def _group_of(event_type: str) -> str:
    return "Certificate" if event_type.startswith(CERTIFICATE_PREFIX) else "Domain lifecycle"


def _event_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """EVENT_TYPES grouped (domain lifecycle, certificate), each group in the catalogue's order.

    `webhook.test` is not offered: "Send a test event" reaches the endpoint whatever its filter says.
    """
    groups: dict[str, list[tuple[str, str]]] = {"Domain lifecycle": [], "Certificate": []}
    for event_type in (t for t in EVENT_TYPES if t != WEBHOOK_TEST):
        # A type added to the catalogue before it has a label still shows, named by its type.
        groups[_group_of(event_type)].append((event_type, event_label(event_type)))
    return [(group, choices) for group, choices in groups.items() if choices]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="Where we POST each event, like https://example.com/hooks.",
        error_messages={"required": "Enter the URL your receiver listens on, like https://example.com/hooks."},
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=_event_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick none to receive every type, including ones added later.",
        error_messages={
            "invalid_choice": 'Unknown event type "%(value)s": tick the types you want from the list.',
        },
    )
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        help_text="A note for your team, like CRM sync.",
    )

    def event_groups(self) -> list[tuple[str, list]]:
        """The events checkboxes in their groups, for the template (the widget alone renders them flat)."""
        options = iter(self["events"].subwidgets)
        return [(group, [next(options) for _ in choices]) for group, choices in self.fields["events"].choices]
