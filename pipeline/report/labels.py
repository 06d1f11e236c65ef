"""The words of the national annual report format (国办公开办函〔2021〕30号).

One place for every row and column label, so the figures file, its error messages
and every renderer (text, Markdown, HTML, Word, Excel) print the same form. Keys are
ASCII (they are what an operator types in the figures file); labels are the form's.
"""

from __future__ import annotations

SECTIONS = {
    "overview": "一、总体情况",
    "proactive": "二、主动公开政府信息情况",
    "applications": "三、收到和处理政府信息公开申请情况",
    "reviews": "四、政府信息公开行政复议、行政诉讼情况",
    "problems": "五、存在的主要问题及改进情况",
    "other": "六、其他需要报告的事项",
}

# Table 二: 第二十条第（一）项 rows are counted from the items by 体裁 (genre).
TABLE2_DOCUMENT_ROWS = {
    "rules": ("规章", ("规章",)),
    "normative": ("行政规范性文件", ("规范性文件", "行政规范性文件")),
}
TABLE2_DOCUMENT_COLUMNS = ("本年制发件数", "本年废止件数", "现行有效件数")
# The other blocks of table 二 come from the operator's figures file.
TABLE2_DECISION_BLOCKS = (
    ("第二十条第（五）项", "本年处理决定数量", (("licensing", "行政许可"),)),
    ("第二十条第（六）项", "本年处理决定数量", (("penalty", "行政处罚"), ("enforcement", "行政强制"))),
)
TABLE2_FEES = ("第二十条第（八）项", "本年收费金额（单位：万元）", "fees", "行政事业性收费")
INVALID_VALIDITY = ("废止", "失效")

# Table 三: six applicant columns, then 总计.
TABLE3_COLUMNS = (
    ("natural_person", "自然人"),
    ("commercial", "商业企业"),
    ("research", "科研机构"),
    ("public_interest", "社会公益组织"),
    ("legal_service", "法律服务机构"),
    ("other", "其他"),
)
TABLE3_TOTAL_COLUMN = "总计"
TABLE3_ORGANISATIONS = "法人或其他组织"
TABLE3_CHECK_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"

TABLE3_NEW = ("new", "一、本年新收政府信息公开申请数量")
TABLE3_CARRIED_OVER = ("carried_over", "二、上年结转政府信息公开申请数量")
TABLE3_RESULTS = "三、本年度办理结果"
TABLE3_CARRIED_FORWARD = ("carried_forward", "四、结转下年度继续办理")
TABLE3_RESULT_TOTAL = ("total", "（七）总计")
# Results: single rows, and groups whose figures are their reasons' rows.
TABLE3_RESULT_ROWS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("disclosed", "（一）予以公开", ()),
    ("partly_disclosed", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", ()),
    (
        "refused",
        "（三）不予公开",
        (
            ("state_secret", "1.属于国家秘密"),
            ("prohibited_by_law", "2.其他法律行政法规禁止公开"),
            ("three_securities", "3.危及“三安全一稳定”"),
            ("third_party", "4.保护第三方合法权益"),
            ("internal_affairs", "5.属于三类内部事务信息"),
            ("process_information", "6.属于四类过程性信息"),
            ("enforcement_files", "7.属于行政执法案卷"),
            ("query_matters", "8.属于行政查询事项"),
        ),
    ),
    (
        "unable",
        "（四）无法提供",
        (
            ("not_held", "1.本机关不掌握相关政府信息"),
            ("needs_creation", "2.没有现成信息需要另行制作"),
            ("unclear", "3.补正后申请内容仍不明确"),
        ),
    ),
    (
        "not_processed",
        "（五）不予处理",
        (
            ("petitions", "1.信访举报投诉类申请"),
            ("repeated", "2.重复申请"),
            ("publications", "3.要求提供公开出版物"),
            ("abusive", "4.无正当理由大量反复申请"),
            ("confirmation", "5.要求行政机关确认或重新出具已获取信息"),
        ),
    ),
    (
        "other_handling",
        "（六）其他处理",
        (
            ("no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
            ("unpaid_fees", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
            ("other", "3.其他"),
        ),
    ),
)

# Table 四: three blocks of five columns.
TABLE4_BLOCKS = (
    ("review", "行政复议"),
    ("litigation_direct", "行政诉讼：未经复议直接起诉"),
    ("litigation_after_review", "行政诉讼：复议后起诉"),
)
TABLE4_COLUMNS = (
    ("upheld", "结果维持"),
    ("corrected", "结果纠正"),
    ("other", "其他结果"),
    ("pending", "尚未审结"),
)
TABLE4_TOTAL_COLUMN = "总计"

# The roles' labels are ReportRole.label (pipeline.plugin); a kind's label is its plug-in's.
