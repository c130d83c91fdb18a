"""Forms of the tenant web UI. They validate input; the services decide."""

from django import forms

from domains.hostnames import InvalidHostname, normalize_hostname


class DomainAddForm(forms.Form):
    hostname = forms.CharField(
        label="Domain",
        max_length=300,
        help_text="The address your visitors will type, like gallery.client-domain.com. "
        "You can paste a full link; we keep just the domain.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
                "inputmode": "url",
                "placeholder": "gallery.client-domain.com",
                "autofocus": True,
            }
        ),
        error_messages={"required": "Enter a hostname, like gallery.example.com."},
    )

    def clean_hostname(self) -> str:
        # Reject early with the same words the service would use, so the tenant
        # sees every rule inline; the service normalises again when it saves.
        try:
            normalize_hostname(self.cleaned_data["hostname"])
        except InvalidHostname as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["hostname"]


class DomainDeleteForm(forms.Form):
    confirm = forms.CharField(
        label="Type the domain to confirm",
        max_length=300,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": "Type the domain's name to confirm."},
    )

    def __init__(self, *args, domain, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain = domain
        self.fields["confirm"].help_text = f"Enter {domain.display_hostname} exactly as shown."

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip().rstrip(".").lower()
        if typed not in {self.domain.hostname, self.domain.display_hostname.lower()}:
            raise forms.ValidationError(f"That doesn't match. Type {self.domain.display_hostname} to delete it.")
        return typed
