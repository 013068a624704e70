from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import parsing
from .columns import COLUMNS
from .mapping import RATE_IS_FRACTION
from .models import TokenScope

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    mapping = forms.ChoiceField(label=_("Column mapping"), required=False)

    def __init__(self, *args, mappings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("CSV (UTF-8, UTF-8 with BOM or GB18030) or Excel .xlsx, at most %(mb)s MB.") % {
            "mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        }
        self.fields["mapping"].choices = [("", _("Recognise the columns by their names"))] + [(m.name, m.name) for m in mappings]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024)})
        # The name must say CSV or XLSX, and the content must agree (OWASP File Upload: allowlist and content check).
        if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        head = upload.read(16)
        upload.seek(0)
        kind = parsing.sniff_format(head)
        if kind == "xls":
            raise forms.ValidationError(_("Old Excel files (.xls) are not supported; save the sheet as .xlsx or as CSV UTF-8."))
        if upload.name.lower().endswith(".xlsx") != (kind == "xlsx"):
            raise forms.ValidationError(_("The file's content does not match its name; save it again as .xlsx or as CSV UTF-8."))
        return upload


class MappingForm(forms.Form):
    """One choice per canonical column among the file's own headers, and a name to keep the choice under."""

    annual_rate_is_fraction = forms.BooleanField(
        label=_("The annual rate column holds fractions"),
        required=False,
        help_text=_("Tick if your file writes 18% as 0.18. Otherwise the column is read as percent, and a rate below 1 is refused."),
    )
    save_as = forms.CharField(
        label=_("Save this mapping as"),
        max_length=100,
        required=False,
        help_text=_("Give it a name (e.g. the system the file comes from) to use it for the next file."),
    )

    def __init__(self, *args, headers=(), initial_mapping=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in my file —"))] + [(str(header), str(header)) for header in headers if str(header).strip()]
        initial_mapping = initial_mapping or {}
        self.column_fields = []
        for column in COLUMNS:
            self.fields[column.name] = forms.ChoiceField(
                label=column.label,
                choices=choices,
                required=column.required,
                initial=initial_mapping.get(column.name, ""),
                help_text=column.help,
            )
            self.column_fields.append(column.name)
        self.fields["annual_rate_is_fraction"].initial = bool(initial_mapping.get(RATE_IS_FRACTION))
        self.order_fields([*self.column_fields, "annual_rate_is_fraction", "save_as"])

    def clean(self):
        cleaned = super().clean()
        used = {}
        for name in self.column_fields:
            header = cleaned.get(name)
            if not header:
                continue
            if header in used:
                self.add_error(
                    name,
                    _("“%(header)s” is already used for %(other)s; each column of your file can be used once.")
                    % {"header": header, "other": self.fields[used[header]].label},
                )
            used.setdefault(header, name)
        return cleaned

    def chosen(self) -> dict:
        chosen = {name: self.cleaned_data[name] for name in self.column_fields if self.cleaned_data.get(name)}
        if self.cleaned_data.get("annual_rate_is_fraction"):
            chosen[RATE_IS_FRACTION] = True  # kept inside the saved mapping's JSON (mapping.OPTIONS)
        return chosen

    def column_bound_fields(self):
        return [self[name] for name in self.column_fields]


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Which system will use it, e.g. “core banking nightly export”."))
    scopes = forms.MultipleChoiceField(
        label=_("May"),
        choices=TokenScope.choices,
        initial=[TokenScope.CASES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Give each system only what it needs."),
    )
