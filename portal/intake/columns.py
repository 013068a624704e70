"""The canonical import layout: one column per fact a lender hands over, and the names it goes by.

The template, the header matching, the mapping form and the validation all
read this one table, so adding a column or an alias happens here only.
"""

import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from portal.models import ContactRelation, RepaymentMethod


@dataclass(frozen=True)
class Column:
    name: str  # canonical header, also the key in API rows and mappings
    label: str  # lazy, for pages
    help: str  # lazy: what goes in the column, shown on the upload page and in the template
    required: bool = False  # the column must be present and the cell filled
    aliases: tuple = field(default_factory=tuple)  # other headers lenders' exports use
    example: str = ""


COLUMNS = (
    Column(
        "contract_no",
        _("Contract no."),
        _("The loan contract or IOU number in your system; at most 64 characters. Re-importing a contract number updates that case."),
        required=True,
        aliases=("合同编号", "合同号", "借据号", "借款合同编号", "合同编码"),
        example="HT2023000123",
    ),
    Column("product", _("Product"), _("The loan product's name."), required=True, aliases=("产品", "产品名称"), example="随心贷"),
    Column(
        "borrower_name",
        _("Borrower's name"),
        _("The borrower's full name as on the ID card."),
        required=True,
        aliases=("借款人姓名", "姓名", "借款人", "客户姓名"),
        example="张三",
    ),
    Column(
        "id_number",
        _("ID number"),
        _("Resident ID card number, 18 characters (GB 11643). Format the column as text in Excel so no digits are lost."),
        required=True,
        aliases=("身份证号", "身份证号码", "证件号码", "证件号"),
        example="310115198808151231",
    ),
    Column(
        "mobile",
        _("Mobile"),
        _("The borrower's mobile number, 11 digits."),
        required=True,
        aliases=("手机号", "手机", "手机号码"),
        example="13800138000",
    ),
    Column(
        "home_phone",
        _("Home phone"),
        _("Landline, 7–20 digits, hyphens allowed; may be empty."),
        aliases=("家庭电话", "住宅电话"),
        example="021-55501234",
    ),
    Column(
        "work_phone",
        _("Work phone"),
        _("Employer's phone, 7–20 digits, hyphens allowed; may be empty."),
        aliases=("单位电话", "公司电话"),
        example="",
    ),
    Column(
        "employer",
        _("Employer"),
        _("Where the borrower works; may be empty."),
        aliases=("工作单位", "单位名称", "公司名称"),
        example="上海某科技有限公司",
    ),
    Column(
        "address",
        _("Address"),
        _("Home address; may be empty."),
        aliases=("地址", "家庭地址", "居住地址", "现居住地址"),
        example="上海市浦东新区世纪大道100号",
    ),
    Column(
        "contact1_name",
        _("Contact's name"),
        _("A relative or reference the borrower named; may be empty. Contacts are never told about the debt."),
        aliases=("联系人1姓名", "联系人姓名", "紧急联系人", "紧急联系人姓名"),
        example="李四",
    ),
    Column(
        "contact1_relation",
        _("Contact's relation"),
        _(
            "Spouse, parent, child, sibling, relative, colleague, friend, reference or other (配偶, 父母, 子女, 兄弟姐妹, 亲属, 同事, 朋友, 其他)."
        ),
        aliases=("联系人1关系", "联系人关系", "与借款人关系", "紧急联系人关系"),
        example="配偶",
    ),
    Column(
        "contact1_phone",
        _("Contact's phone"),
        _("The contact's mobile or landline."),
        aliases=("联系人1电话", "联系人电话", "紧急联系人电话"),
        example="13900139000",
    ),
    Column(
        "loan_amount",
        _("Loan amount"),
        _("The amount lent, in yuan with at most two decimals, e.g. 20000.00."),
        required=True,
        aliases=("借款金额", "贷款金额", "合同金额", "放款金额"),
        example="20000.00",
    ),
    Column(
        "disbursed_on",
        _("Disbursed on"),
        _("Date the loan was paid out, YYYY-MM-DD; may be empty."),
        aliases=("放款日期", "放款日", "借款日期"),
        example="2023-01-15",
    ),
    Column(
        "annual_rate",
        _("Annual rate (%)"),
        _("Annual interest rate in percent (24 means 24%); may be empty."),
        aliases=("年利率", "年化利率"),
        example="18.25",
    ),
    Column(
        "term_months",
        _("Term (months)"),
        _("Loan term in months, 1–360; may be empty."),
        aliases=("期限", "期限(月)", "期数", "借款期限"),
        example="12",
    ),
    Column(
        "principal_due",
        _("Principal due"),
        _("Outstanding principal in yuan; not more than the loan amount."),
        required=True,
        aliases=("应还本金", "剩余本金", "逾期本金", "未还本金"),
        example="15000.00",
    ),
    Column(
        "interest_due",
        _("Interest due"),
        _("Outstanding interest in yuan; empty means 0."),
        aliases=("应还利息", "逾期利息", "未还利息"),
        example="812.35",
    ),
    Column(
        "penalty_due",
        _("Penalty interest due"),
        _("Outstanding penalty interest (罚息) in yuan; empty means 0."),
        aliases=("罚息", "应还罚息"),
        example="100.00",
    ),
    Column(
        "fees_due",
        _("Fees due"),
        _("Other outstanding fees in yuan; empty means 0."),
        aliases=("费用", "其他费用", "应还费用"),
        example="0.00",
    ),
    Column(
        "overdue_since",
        _("Overdue since"),
        _("The first missed due date, YYYY-MM-DD. The limitation period is tracked from it."),
        required=True,
        aliases=("逾期起始日", "逾期日期", "首次逾期日期", "逾期开始日期"),
        example="2024-03-15",
    ),
    Column(
        "last_payment_on",
        _("Last payment on"),
        _("Date of the borrower's last payment, YYYY-MM-DD; may be empty."),
        aliases=("最近还款日", "最后还款日", "最近还款日期"),
        example="2024-02-15",
    ),
    Column(
        "repayment_method",
        _("Repayment method"),
        _(
            "Equal instalments, equal principal, interest first or bullet (等额本息, 等额本金, 先息后本, 到期一次还本付息); may be empty. "
            "For instalments the limitation period runs from the last instalment's due date (Civil Code art. 189)."
        ),
        aliases=("还款方式",),
        example="等额本息",
    ),
    Column(
        "accelerated_on",
        _("Accelerated on"),
        _("Date you declared the whole loan due (宣布提前到期), YYYY-MM-DD; may be empty. The limitation period runs from it."),
        aliases=("加速到期日", "提前到期日"),
        example="",
    ),
    Column(
        "region", _("Region"), _("Province or city, for allocation; may be empty."), aliases=("地区", "区域", "所属地区"), example="上海"
    ),
)
BY_NAME = {column.name: column for column in COLUMNS}
NAMES = tuple(column.name for column in COLUMNS)
REQUIRED = tuple(column.name for column in COLUMNS if column.required)


def normalise_header(text) -> str:
    """How headers are compared: width-folded (（月） = (月)), case-folded, without spaces or a required-marker star."""
    text = unicodedata.normalize("NFKC", str(text if text is not None else "")).casefold()
    return "".join(text.split()).strip("*")


# normalised header -> canonical name (the canonical names are their own aliases)
ALIASES = {normalise_header(alias): column.name for column in COLUMNS for alias in (column.name, *column.aliases)}

# How lenders write a repayment method -> RepaymentMethod value.
METHOD_WORDS = {
    RepaymentMethod.EQUAL_INSTALMENTS: ("等额本息", "等额还款", "分期", "instalments"),
    RepaymentMethod.EQUAL_PRINCIPAL: ("等额本金",),
    RepaymentMethod.INTEREST_ONLY: ("先息后本", "按月付息到期还本", "按月付息，到期还本", "interest only"),
    RepaymentMethod.BULLET: ("到期一次还本付息", "一次性还本付息", "到期还本付息"),
}
METHODS = {normalise_header(word): method.value for method, words in METHOD_WORDS.items() for word in (method.value, *words)}

# How lenders write a contact's relation -> ContactRelation value.
RELATION_WORDS = {
    ContactRelation.SPOUSE: ("配偶", "夫妻", "丈夫", "妻子", "老公", "老婆"),
    ContactRelation.PARENT: ("父母", "父亲", "母亲", "爸爸", "妈妈"),
    ContactRelation.CHILD: ("子女", "儿子", "女儿"),
    ContactRelation.SIBLING: ("兄弟姐妹", "兄弟", "姐妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    ContactRelation.RELATIVE: ("亲属", "亲戚", "其他亲属", "other relative"),
    ContactRelation.COLLEAGUE: ("同事",),
    ContactRelation.FRIEND: ("朋友",),
    ContactRelation.REFERENCE: ("推荐人", "介绍人"),
    ContactRelation.OTHER: ("其他", "其它"),
}
RELATIONS = {}
for _relation, _words in RELATION_WORDS.items():
    for _word in (_relation.value, *_words):
        RELATIONS[normalise_header(_word)] = _relation.value
