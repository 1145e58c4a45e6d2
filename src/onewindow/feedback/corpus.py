"""A generator of realistic 12345-style ticket texts, labelled by category.

Nothing is downloaded: the classifier's starting model is trained on text made here, and
later retrained on the city's own labelled tickets (dispatcher corrections, imported
history). The same generator feeds the demo city and the benchmark; a held-back part of
its output measures the classifier.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# category -> (中文, English, department code that handles it)
CATEGORIES: dict[str, tuple[str, str, str]] = {
    "traffic": ("交通出行", "Traffic and transport", "PSB"),
    "fire_safety": ("消防安全", "Fire safety", "FIRE"),
    "housing": ("住房物业", "Housing and property management", "HOUSING"),
    "construction": ("工程施工", "Construction works", "HOUSING"),
    "food_safety": ("食品药品安全", "Food and drug safety", "SAMR"),
    "consumer": ("消费维权", "Consumer rights", "SAMR"),
    "tax": ("税费缴纳", "Taxes and fees", "TAX"),
    "social_insurance": ("社保医保", "Social and medical insurance", "HRSS"),
    "wages": ("劳动就业与欠薪", "Employment and unpaid wages", "HRSS"),
    "hukou_id": ("户籍证件", "Household registration and ID", "PSB"),
    "service_hall": ("政务服务", "Government service delivery", "CENTER"),
    "environment": ("环境卫生", "Environment and sanitation", "HOUSING"),
}

# district -> (residents, streets); a fictional city on real-looking names
DISTRICTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "鼓楼区": (680_000, ("五四路", "东街", "温泉街道", "华大街道", "南街")),
    "台江区": (450_000, ("瀛洲街道", "茶亭街道", "上海街道", "宁化街道")),
    "仓山区": (950_000, ("仓前街道", "金山街道", "城门镇", "盖山镇", "对湖街道")),
    "晋安区": (920_000, ("王庄街道", "象园街道", "鼓山镇", "新店镇")),
    "马尾区": (240_000, ("罗星街道", "马尾镇", "亭江镇")),
    "长乐区": (760_000, ("吴航街道", "航城街道", "营前街道", "金峰镇")),
}

_PROBLEMS: dict[str, tuple[str, ...]] = {
    "traffic": (
        "路口红绿灯坏了，车辆乱成一团",
        "红绿灯时间太短，老人过不了马路",
        "早晚高峰堵车非常严重，半小时走不了一公里",
        "有大量车辆违章停车占用人行道",
        "公交车站撤了以后出行很不方便",
        "路面坑洼很多，电动车经常摔倒",
        "货车在居民区里超速行驶，十分危险",
        "交通标线模糊不清，经常发生剐蹭",
        "学校门口接送孩子的车辆堵塞道路",
        "违停车辆挡住了消防通道和公交车道",
        "公交线路班次太少，等车要四十分钟",
        "斑马线附近没有减速带，车速太快",
        "渣土车闯红灯，还撒落泥土",
        "共享单车乱停乱放堵住了路口",
        "地铁站出口附近的黑车拉客",
        "交警处理事故太慢，道路长时间拥堵",
    ),
    "fire_safety": (
        "消防通道被杂物和车辆堵死",
        "楼道里堆满纸箱，一旦着火后果不堪设想",
        "小区消防栓没有水，灭火器过期",
        "有人在楼道里给电动车充电，飞线充电很危险",
        "商铺把人住在仓库里，存在火灾隐患",
        "安全出口被锁住，疏散指示灯不亮",
        "烟花爆竹非法存放在居民楼下",
        "KTV的消防设施不全，疏散通道狭窄",
        "高层住宅的消防喷淋系统长期损坏",
        "工厂宿舍私拉电线，存在严重的火灾隐患",
        "餐馆后厨液化气罐摆放不规范",
    ),
    "housing": (
        "物业公司乱收费，服务却很差",
        "电梯经常故障，困人好几次，物业不管",
        "楼顶漏水，找物业多次都没有维修",
        "开发商延期交房，至今没有说法",
        "房产证迟迟办不下来",
        "公租房申请排队太久，没有进展",
        "老旧小区改造施工质量差",
        "物业不退还装修押金",
        "小区公共收益去向不明，业主要求公开",
        "房屋租赁中介扣押金不退",
        "二手房过户手续繁琐",
        "维修基金申请使用太难",
    ),
    "construction": (
        "工地夜间施工噪音扰民，晚上十二点还在打桩",
        "工地扬尘严重，没有洒水降尘",
        "建筑工地围挡倒塌占用道路",
        "施工单位挖断了自来水管",
        "违章搭建占用公共绿地",
        "道路施工长期不完工，围挡占道",
        "工地渣土车带泥上路",
        "楼下商铺违规拆改承重墙",
        "在建工程没有安全防护网，有东西掉落",
        "凌晨还在浇筑混凝土，噪音太大",
    ),
    "food_safety": (
        "在餐馆吃饭后上吐下泻，怀疑食物不卫生",
        "超市销售过期食品",
        "学校食堂饭菜里吃出异物",
        "路边摊贩使用地沟油",
        "外卖商家没有营业执照和健康证",
        "药店销售处方药不需要处方",
        "买到的牛奶有异味，已经胀袋",
        "菜市场的猪肉没有检疫章",
        "网红奶茶店卫生条件很差，后厨有老鼠",
        "保健品宣传能治病，老人被骗买了很多",
    ),
    "consumer": (
        "健身房老板跑路，预付卡无法退款",
        "网购商品质量有问题，商家拒绝退货",
        "培训机构收费后不上课也不退费",
        "美容院诱导办卡，消费欺诈",
        "商场促销虚假打折，先涨价后降价",
        "手机维修店偷换零件",
        "装修公司偷工减料还加价",
        "商家缺斤短两，电子秤有问题",
        "充值卡余额被清零，商家不认账",
        "电动车店卖的电池是翻新的",
        "快递丢件，快递公司推卸责任",
    ),
    "tax": (
        "个税汇算清缴的退税迟迟没有到账",
        "开发票的时候系统一直报错",
        "电子税务局登录不上，无法申报",
        "小规模纳税人的减免政策不清楚",
        "房产交易的契税计算有疑问",
        "企业注销的清税手续太慢",
        "社保费和税务系统数据对不上",
        "个体户定额核定不合理",
        "专项附加扣除填报后没有生效",
        "纳税信用等级评定有误",
    ),
    "social_insurance": (
        "医保报销比例太低，异地就医结算困难",
        "社保卡丢失补办要等很久",
        "养老金没有按时发放",
        "社保缴费年限查询有误，少了几年",
        "灵活就业人员医保缴费不方便",
        "生育津贴申领材料太多",
        "医保定点药店刷不了卡",
        "退休手续办理时间太长",
        "失业保险金申领被拒，没有说明理由",
        "社保转移接续一直没有办好",
    ),
    "wages": (
        "公司拖欠工资三个月不发",
        "包工头拖欠农民工工资",
        "单位不签劳动合同也不交社保",
        "被公司无故辞退，没有经济补偿",
        "加班没有加班费，每天工作十二个小时",
        "工伤认定被单位阻挠",
        "招聘广告虚假，入职后薪资不一致",
        "试用期被随意延长",
        "公司倒闭老板失联，员工工资没着落",
        "劳务派遣公司克扣工资",
    ),
    "hukou_id": (
        "身份证补办需要回户籍地，很不方便",
        "孩子落户需要的材料太多，跑了好几趟",
        "居住证办理进度查询不到",
        "户口迁移手续复杂",
        "出入境证件预约不上",
        "派出所开具证明要求不合理",
        "新生儿上户口系统显示信息错误",
        "身份证照片采集点排队太长",
        "集体户口的证明开不出来",
        "临时身份证办理太慢",
    ),
    "service_hall": (
        "办事大厅窗口工作人员态度恶劣",
        "网上办事平台经常卡顿，提交不了",
        "同一件事要跑好几个窗口",
        "办事指南写的材料和窗口要求不一致",
        "取号排队要等两个小时",
        "窗口中午提前下班，群众白跑一趟",
        "预约后到现场还是要重新排队",
        "政务服务APP实名认证一直失败",
        "工作人员一次性告知不到位，让我补了三次材料",
        "自助终端机器坏了没人修",
        "证明材料明明系统里有，还要我再交一份",
    ),
    "environment": (
        "垃圾桶满了好几天没人清运，臭气熏天",
        "河道发黑发臭，有死鱼",
        "饭店油烟直排，熏得家里不敢开窗",
        "小区周边有人焚烧垃圾",
        "工厂排放刺鼻气体",
        "公共厕所脏乱差无人打扫",
        "路边绿化带被毁，种上了菜",
        "夜市噪音和垃圾影响居民休息",
        "下水道堵塞，污水溢到路面",
        "养殖场臭味很大，苍蝇成群",
        "垃圾分类投放点脏乱，没人管理",
    ),
}

_SUGGESTIONS: dict[str, tuple[str, ...]] = {
    "traffic": ("增设红绿灯", "增加公交班次", "设置潮汐车道", "增加停车位", "安装减速带"),
    "fire_safety": ("增设电动车集中充电桩", "定期开展消防检查", "清理楼道杂物"),
    "housing": ("公开物业收支", "加快老旧小区电梯加装", "简化维修基金使用流程"),
    "construction": ("限制夜间施工时间", "加强工地扬尘治理"),
    "food_safety": ("加强校园食堂检查", "公开餐馆卫生评级"),
    "consumer": ("加强预付卡监管", "设立消费纠纷快速调解点"),
    "tax": ("优化电子税务局系统", "多开设办税服务窗口"),
    "social_insurance": ("扩大异地就医直接结算范围", "简化社保卡补办"),
    "wages": ("建立欠薪快速处置机制", "加强劳务派遣监管"),
    "hukou_id": ("推行身份证跨省通办", "增加证件照采集点"),
    "service_hall": ("延长窗口服务时间", "推行一窗通办", "让数据多跑路群众少跑腿"),
    "environment": ("增加垃圾清运频次", "加强河道整治"),
}

_PLACES = (
    "{district}{street}",
    "{district}{street}附近",
    "{street}{community}小区",
    "{district}{community}小区门口",
    "{district}{street}路口",
    "{street}菜市场旁边",
    "{district}{street}学校门口",
)
_COMMUNITIES = ("幸福", "阳光", "金色家园", "康居", "锦绣", "福馨", "和平", "新村", "滨江", "书香")
_OPENERS = ("", "", "", "您好，", "你好，我要反映一个问题，", "我是附近居民，", "市民来电反映：")
_DURATIONS = (
    "",
    "",
    "已经一个多星期了，",
    "持续好几天了，",
    "最近一个月一直这样，",
    "每天都是这样，",
)
_URGES = (
    "希望相关部门尽快处理。",
    "请有关部门管一管。",
    "多次反映都没有解决，希望给个答复。",
    "请尽快核实处理，谢谢！",
    "严重影响生活，盼早日解决。",
    "",
    "望督促整改。",
)


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    district: str
    street: str


def _place(rng: random.Random) -> tuple[str, str, str]:
    district = rng.choice(list(DISTRICTS))
    street = rng.choice(DISTRICTS[district][1])
    place = rng.choice(_PLACES).format(
        district=district, street=street, community=rng.choice(_COMMUNITIES)
    )
    return place, district, street


def _phrases(pool: tuple[str, ...], split: str, holdout: int = 3) -> tuple[str, ...]:
    """Every fourth phrase (those at ``holdout`` mod 4) is held back for testing, so "test"
    texts say things unseen; ``holdout`` 0–3 gives four disjoint test sets."""
    if split == "train":
        return tuple(p for i, p in enumerate(pool) if i % 4 != holdout) or pool
    if split == "test":
        return tuple(p for i, p in enumerate(pool) if i % 4 == holdout) or pool
    return pool


def ticket_text(rng: random.Random, category: str, split: str = "all", holdout: int = 3) -> Example:
    """One plausible ticket of ``category``: a complaint most of the time, else a suggestion.

    ``split`` picks the problem statements: "all", "train" (three in four) or "test" (the
    rest), so that a model can be scored on statements it never saw; ``holdout`` (0–3)
    picks which quarter of the statements is the rest.
    """
    place, district, street = _place(rng)
    if rng.random() < 0.15:
        idea = rng.choice(_phrases(_SUGGESTIONS[category], split, holdout))
        text = f"{rng.choice(_OPENERS)}建议在{place}{idea}，{rng.choice(_URGES) or '谢谢。'}"
        return Example(text, category, district, street)
    problems = _phrases(_PROBLEMS[category], split, holdout)
    problem = rng.choice(problems)
    if rng.random() < 0.3:  # two related problems in one call
        second = rng.choice(problems)
        if second != problem:
            problem = f"{problem}，而且{second}"
    text = f"{rng.choice(_OPENERS)}{place}{problem}，{rng.choice(_DURATIONS)}{rng.choice(_URGES)}"
    return Example(text.replace("，，", "，").rstrip("，"), category, district, street)


def generate(
    n: int,
    *,
    seed: int = 0,
    weights: dict[str, float] | None = None,
    split: str = "all",
    holdout: int = 3,
) -> list[Example]:
    """``n`` labelled examples; categories uniform unless ``weights`` says otherwise."""
    rng = random.Random(seed)  # noqa: S311 - generated text, not secrets
    cats = list(CATEGORIES)
    w = [(weights or {}).get(c, 1.0) for c in cats]
    return [ticket_text(rng, rng.choices(cats, w)[0], split, holdout) for _ in range(n)]
