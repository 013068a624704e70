from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tenants.models import ROLES_BY_KIND, OrganisationKind, Role


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("6-digit code from your authenticator app"), min_length=6, max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True, "pattern": "[0-9]{6}"}),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError(_("The code has six digits."))
        return token


class MemberForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Full name"), max_length=100)
    role = forms.ChoiceField(label=_("Role"))
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput, min_length=10,
                               help_text=_("At least 10 characters. Share it privately; the person should change it."))

    def __init__(self, *args, kind=OrganisationKind.LENDER, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r.value, r.label) for r in Role if r in ROLES_BY_KIND[kind]]

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password"]
        validate_password(password)
        return password
