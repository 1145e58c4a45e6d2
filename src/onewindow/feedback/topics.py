"""Topic hotspots (热点问题): many messages about the same place and the same problem.

A 12345 centre looks for "57 messages about one estate's sewage", not for counts per
district. This module finds them in free text, with no district or category columns needed.
Pure functions over plain :class:`Message` records: the CLI runs them on a CSV, the analyst's
page on the platform's own tickets.

**Places.** A place is a name ending in one of :data:`PLACE_SUFFIXES` (小区, 花园, 苑, 路, 街,
河, 村 …). Where the name *starts* is learnt from the messages themselves: every occurrence
of a suffix proposes the names made of the 2 … 8 characters before it (stopping at
punctuation and function characters such as 的, 在, 和), and an occurrence's name grows one
character to the left while the longer name occurs in at least 2 messages and in at least
60 % as many messages as the shorter one — the left edge of a real name is where its left
neighbours start to vary (沿龙津河, 的龙津河 …). Administrative divisions in front of a name
(GB/T 2260 names such as 仓山区, or any ``…区/县/市/镇`` prefix) are cut off and kept as the
place's district; reporting verbs in front (投诉, 关于 …) are cut off; common nouns (马路, 内河,
线路 …) and names that are nearly always followed by 道/段/水/岸 … (治理河|道) are not places.
A place inside another place of the same message (光明港 in 光明港二支河) gives way to it. A
message's place is the one it names most often, a name in the title (the first sentence, at
most 60 characters, with more after it) counting three times; messages naming no place
belong to no hotspot.

**Problems.** Each message gets the problem theme of :data:`PROBLEM_THEMES` whose words it
uses most (a word in the title counts three times). The words that describe a cluster are
its most distinctive words (jieba, with the GB/T 2260 names in its dictionary, on the text
with the places cut out): count in the cluster × log(messages / messages using the word),
theme words counted double, stop words, divisions and places left out, and only words
that at least a quarter of the cluster's messages (and at least two) use.

**Clusters.** Messages are grouped by place (a place needs ``min_size`` messages); inside a
place, each problem theme with at least ``min_size`` messages is a cluster of its own, and the
place's other messages form one more cluster when they are ``min_size`` or more (its theme:
the one most of them share, if any) or else join the place's biggest cluster.

**Heat** (the ranking), for a cluster with ``m`` messages from ``s`` distinct senders and
``l`` likes in all, whose newest message is ``a`` days older than the newest message of the
whole input, and whose messages span ``d`` days::

    heat = (s + 0.5 × (m − s) + ln(1 + l)) × 0.5 ** (a / half_life) × (1 + min(d, 90) / 90)

so a second message from the same sender counts half, likes count with diminishing weight,
a cluster loses half its heat every ``half_life`` days (30 by default) it has been quiet, and
a problem raised for three months or more counts up to twice a one-day burst. Without a
sender column, each distinct text counts as one sender (a re-post is not a new voice).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from onewindow.feedback import classifier

__all__ = [
    "HALF_LIFE_DAYS",
    "METHOD",
    "MIN_SIZE",
    "PLACE_SUFFIXES",
    "PROBLEM_THEMES",
    "Message",
    "Topic",
    "find_topics",
    "heat",
    "learn_places",
    "places_in",
    "theme_of",
]

METHOD: Final = (
    "messages grouped by the place they name (names learnt from the text, GB/T 2260 "
    "divisions cut off) and, inside a place, by problem theme; heat = (senders + 0.5 x "
    "repeat messages + ln(1 + likes)) x 0.5^(days since the topic's last message, counted "
    "from the newest message / half-life) x (1 + min(span in days, 90) / 90)"
)
MIN_SIZE: Final = 3
HALF_LIFE_DAYS: Final = 30.0
PERSISTENCE_CAP_DAYS: Final = 90.0
TITLE_WEIGHT: Final = 3
TITLE_CHARS: Final = 60
WORD_SHARE: Final = 0.25  # a describing word is used by at least this share of a cluster

# Longest first, so 街道 wins over 街 (an alternation takes the first that matches).
PLACE_SUFFIXES: Final[tuple[str, ...]] = tuple(
    "小区 花园 家园 公寓 大厦 广场 公园 市场 大道 社区 新村 街道 "
    "苑 路 街 巷 河 溪 港 湖 村 桥".split()
)
_MIN_PREFIX: Final = 2
_MAX_PREFIX: Final = 8
_GROW_SHARE: Final = 0.6
_GENERIC_FOLLOW_SHARE: Final = 0.7
# A character that never belongs to a place name: where a name cannot reach further left.
_FUNCTION_CHARS: Final = frozenset(
    "的在了是和与及到从对把被向往这那该本我你他她们个条各每此其所为于或将就都也还又很太"
    "有没不过经沿跟给让请说要会能可位处至由等靠段称叫即并且但而因如若已曾正仍再"
)
# Common nouns that end like a place but name none.
_GENERIC: Final = frozenset(
    "马路 道路 公路 铁路 线路 小路 大路 水路 内河 小河 大河 河道 黑臭河 臭水河 直排河 断头河 "
    "农村 乡村 大街 老旧小区 城中村 花园小区 居民小区 周边小区 附近小区 整个小区 影响小区".split()
)
_GENERIC_ENDINGS: Final = ("线路", "道路", "马路", "公路", "内河", "小河", "臭河")
# What follows 河/路/街 … when they are part of a common word (河道, 路段, 河水, 街道办 …).
_GENERIC_FOLLOWERS: Final = frozenset("道段水岸边床堤流面口沿长两灯")
_LEADING_WORDS: Final = (
    "投诉",
    "举报",
    "反映",
    "咨询",
    "建议",
    "求助",
    "关于",
    "位于",
    "靠近",
    "附近",
    "旁边",
    "对面",
    "影响",
    "整治",
    "治理",
)
_LEADING_DIVISION: Final = re.compile(
    r"^[\u4e00-\u9fff]{2,4}?(?<![小社园])(?:省|市|区|县|镇|乡)(?=[\u4e00-\u9fff0-9A-Za-z]{2,})"
)
_NAME_CHAR: Final = re.compile(r"[\u4e00-\u9fff0-9A-Za-z]")
_SUFFIX: Final = re.compile("|".join(PLACE_SUFFIXES))
_TITLE_END: Final = re.compile(r"[。！？!?\n]")
_WORD: Final = re.compile(r"^[\u4e00-\u9fff]{2,}$")

# theme -> the words that say it (substring match on the normalised text)
PROBLEM_THEMES: Final[dict[str, tuple[str, ...]]] = {
    "噪音扰民": ("噪音", "噪声", "扰民", "夜间施工", "凌晨施工", "吵闹"),
    "污水黑臭": ("黑臭", "恶臭", "臭味", "发臭", "臭气", "污水", "排污", "直排", "水质", "脏水"),
    "施工进度": ("工期", "停工", "进度", "完工", "烂尾", "围挡", "拖延", "迟迟"),
    "工程质量": ("偷工减料", "质量", "豆腐渣", "开裂", "坍塌", "塌方"),
    "扬尘": ("扬尘", "灰尘", "粉尘", "渣土"),
    "垃圾卫生": ("垃圾", "杂物", "蚊虫", "蚊蝇", "老鼠", "苍蝇", "卫生"),
    "积水内涝": ("积水", "内涝", "被淹", "水淹", "倒灌", "下水道", "堵塞", "排水", "清淤"),
    "交通出行": ("公交", "停车", "拥堵", "堵车", "通行", "绕行", "红绿灯", "违停"),
    "安全隐患": ("隐患", "护栏", "危险", "落水", "溺水", "消防"),
    "绿化景观": ("绿化", "树木", "砍树", "草坪", "景观"),
    "照明": ("路灯", "照明", "灯光"),
    "违建占道": ("违建", "违章搭建", "乱搭", "占道", "侵占"),
    "物业服务": ("物业", "电梯", "漏水", "维修"),
    "征迁补偿": ("拆迁", "征地", "征收", "补偿", "安置"),
    "油烟废气": ("油烟", "异味", "废气"),
}
# Words that say nothing about the problem (how people write to the hotline).
STOPWORDS: Final = frozenset(
    "希望 相关 部门 尽快 处理 有关 反映 问题 已经 一个 持续 最近 一直 这样 谢谢 您好 你好 "
    "市民 附近 居民 多次 没有 解决 答复 核实 严重 影响 生活 督促 整改 建议 而且 每天 现在 "
    "小区 请问 政府 投诉 咨询 举报 求助 情况 什么 时候 目前 为什么 我们 他们 你们 这个 那个 "
    "但是 可以 还是 因为 所以 如果 进行 以及 是否 能否 不能 请求 要求 领导 单位 工作 之前 "
    "以后 时间 今年 去年 本人 周边 周围 这里 那里 现场 至今 怎么 还有 导致 造成 出现 存在 "
    "由于 特此 介入 了解 相关部门 有关部门 来电 一下 一些 很多 非常 十分 需要 应该 已经 "
    "看到 发现 知道 表示 告知 回复 满意 不满意 整治 治理 关于 何时 一条 来自 短信 河道 河段 路段 "
    "地方 东西 事情 办法 望 请 该 其 年 月 日 号 时 天".split()
)


@dataclass(frozen=True)
class Message:
    """One citizen message: its id, text and (when known) time, likes and sender."""

    id: str
    text: str
    created_at: datetime | None = None
    likes: int = 0
    sender: str | None = None


@dataclass(frozen=True)
class Topic:
    """A hotspot: messages about one place and one problem, with its heat."""

    label: str
    place: str
    district: str | None
    theme: str | None
    words: tuple[str, ...]
    size: int
    senders: int
    likes: int
    members: tuple[str, ...]
    first: datetime | None
    last: datetime | None
    heat: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "place": self.place,
            "district": self.district,
            "theme": self.theme,
            "words": list(self.words),
            "size": self.size,
            "senders": self.senders,
            "likes": self.likes,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "heat": self.heat,
            "members": list(self.members),
        }


@dataclass
class _Read:
    """What one message says: its places (with weights), district, theme, words."""

    places: Counter[str] = field(default_factory=Counter)
    districts: Counter[str] = field(default_factory=Counter)
    theme: str | None = None


# --------------------------------------------------------------------------- text


def clean(text: str) -> str:
    """NFKC (full-width letters and digits folded), whitespace collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def title_of(text: str) -> str:
    """The title of a message written as title + body: its first sentence when more
    follows and it is at most 60 characters; else empty."""
    parts = _TITLE_END.split(text, maxsplit=1)
    if len(parts) < 2 or not parts[1].strip() or len(parts[0]) > TITLE_CHARS:
        return ""
    return parts[0]


@functools.cache
def _divisions() -> tuple[str, ...]:
    """GB/T 2260 names (current divisions), with the short names of provinces and cities
    (福州 for 福州市), longest first."""
    from onewindow.datahub.rules import gbt2260

    names: set[str] = set()
    for d in gbt2260.divisions().values():
        if not d.current or d.name in ("市辖区", "县") or "直辖" in d.name:
            continue
        names.add(d.name)
        if d.level != "district":
            for suffix in ("省", "市", "自治区", "特别行政区"):
                if d.name.endswith(suffix) and len(d.name) - len(suffix) >= 2:
                    names.add(d.name[: -len(suffix)])
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


@functools.cache
def _division_pattern() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in _divisions()))


@functools.cache
def _district_pattern() -> re.Pattern[str]:
    """County-level GB/T 2260 names only (仓山区, 闽侯县): a place's district."""
    from onewindow.datahub.rules import gbt2260

    names = {
        d.name
        for d in gbt2260.divisions().values()
        if d.current and d.level == "district" and len(d.name) >= 3 and "直辖" not in d.name
    }
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n))))


# --------------------------------------------------------------------------- places


def _candidates(text: str) -> list[tuple[int, list[str], str]]:
    """Per suffix occurrence: where it starts, the names of 1 … 8 characters before it
    (shortest first), and the character after it."""
    out: list[tuple[int, list[str], str]] = []
    for m in _SUFFIX.finditer(text):
        start, end = m.start(), m.end()
        if _SUFFIX.match(text, end):  # 金港|河, 东光花园|小区: the name goes on
            continue
        names: list[str] = []
        for k in range(1, _MAX_PREFIX + 1):
            i = start - k
            if i < 0 or not _NAME_CHAR.match(text[i]) or text[i] in _FUNCTION_CHARS:
                break
            names.append(text[i:end])
        out.append((start, names, text[end : end + 1]))
    return out


@dataclass(frozen=True)
class PlaceModel:
    """What :func:`learn_places` learnt from a set of messages: how many messages use each
    candidate name, and how often each is followed by a common-word ending."""

    frequency: Mapping[str, int]
    generic_follow: Mapping[str, float]

    def name_at(self, names: Sequence[str]) -> str | None:
        """The place name of one suffix occurrence (``names`` shortest first)."""
        if len(names) < _MIN_PREFIX:
            return None
        best = names[_MIN_PREFIX - 1]
        for longer in names[_MIN_PREFIX:]:
            n = self.frequency.get(longer, 0)
            if n >= 2 and n >= _GROW_SHARE * self.frequency.get(best, 0):
                best = longer
            else:
                break
        return _tidy(best, self.generic_follow)


def _tidy(name: str, generic_follow: Mapping[str, float]) -> str | None:
    """Cut leading divisions and verbs off a learnt name; None for common nouns."""
    divisions = _division_pattern()
    changed = True
    while changed:
        changed = False
        found = divisions.match(name) or _LEADING_DIVISION.match(name)
        if found and len(name) - found.end() >= 2:
            name = name[found.end() :]
            changed = True
        for word in _LEADING_WORDS:
            if name.startswith(word) and len(name) - len(word) >= 2:
                name = name[len(word) :]
                changed = True
    if name in _GENERIC or name.endswith(_GENERIC_ENDINGS):
        return None
    if generic_follow.get(name, 0.0) > _GENERIC_FOLLOW_SHARE:
        return None
    if len(name) < 3 or _SUFFIX.fullmatch(name):
        return None
    return name


def learn_places(texts: Iterable[str]) -> PlaceModel:
    """Learn from cleaned texts where place names start (see the module's docstring)."""
    frequency: Counter[str] = Counter()
    followed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for text in texts:
        names_here: set[str] = set()
        for _, names, after in _candidates(text):
            names_here.update(names)
            for name in names:
                seen[name] += 1
                followed[name] += after in _GENERIC_FOLLOWERS
        frequency.update(names_here)
    return PlaceModel(
        frequency=dict(frequency),
        generic_follow={n: followed[n] / seen[n] for n in seen if followed[n]},
    )


def places_in(text: str, model: PlaceModel) -> Counter[str]:
    """The places a cleaned text names, each weighted by its mentions (title ×3); a place
    inside another place of the same text gives way to it."""
    title_end = len(title_of(text))
    found: Counter[str] = Counter()
    for start, names, _ in _candidates(text):
        name = model.name_at(names)
        if name is not None:
            found[name] += TITLE_WEIGHT if start < title_end else 1
    for name in list(found):
        if any(name != other and name in other for other in found):
            del found[name]
    return found


def districts_in(text: str) -> Counter[str]:
    """County-level GB/T 2260 division names in a text (仓山区, 闽侯县)."""
    return Counter(m.group(0) for m in _district_pattern().finditer(text))


# --------------------------------------------------------------------------- problems


def theme_of(text: str, themes: Mapping[str, Sequence[str]] = PROBLEM_THEMES) -> str | None:
    """The problem theme whose words the text uses most (title ×3); None when it uses none.
    Ties go to the theme listed first."""
    title_end = len(title_of(text))
    best: tuple[int, str] | None = None
    for theme, words in themes.items():
        score = 0
        for word in words:
            for m in re.finditer(re.escape(word), text):
                score += TITLE_WEIGHT if m.start() < title_end else 1
        if score and (best is None or score > best[0]):
            best = (score, theme)
    return best[1] if best else None


def _words(text: str, places: Iterable[str]) -> set[str]:
    """Content words of a text with its places and divisions cut out."""
    for place in sorted(places, key=len, reverse=True):
        text = text.replace(place, "，")
    text = _division_pattern().sub("，", text)
    return {
        w
        for w in classifier.tokenizer().lcut(text, HMM=False)
        if _WORD.match(w) and w not in STOPWORDS and not w.endswith(PLACE_SUFFIXES)
    }


# --------------------------------------------------------------------------- heat


def heat(
    messages: int,
    senders: int,
    likes: int,
    age_days: float,
    span_days: float,
    *,
    half_life: float = HALF_LIFE_DAYS,
) -> float:
    """The heat index of the module's docstring."""
    voices = senders + 0.5 * max(messages - senders, 0) + math.log1p(max(likes, 0))
    recency = 0.5 ** (max(age_days, 0.0) / half_life) if half_life > 0 else 1.0
    persistence = 1 + min(max(span_days, 0.0), PERSISTENCE_CAP_DAYS) / PERSISTENCE_CAP_DAYS
    return voices * recency * persistence


def _days(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds() / 86400


# --------------------------------------------------------------------------- clusters


def find_topics(
    messages: Sequence[Message],
    *,
    min_size: int = MIN_SIZE,
    half_life: float = HALF_LIFE_DAYS,
    themes: Mapping[str, Sequence[str]] = PROBLEM_THEMES,
    top_words: int = 3,
) -> list[Topic]:
    """Hotspots in ``messages``, hottest first (see the module's docstring for the method).

    Messages naming no place, and places with fewer than ``min_size`` messages, are in no
    topic. Times may be missing (then recency and span count as nothing).
    """
    min_size = max(min_size, 1)
    texts = [clean(m.text) for m in messages]
    model = learn_places(texts)
    reads: list[_Read] = []
    for text in texts:
        read = _Read(places=places_in(text, model), districts=districts_in(text))
        read.theme = theme_of(text, themes) if read.places else None
        reads.append(read)
    mentions: Counter[str] = Counter()
    for read in reads:
        mentions.update(read.places.keys())
    by_place: dict[str, list[int]] = defaultdict(list)
    for i, read in enumerate(reads):
        if read.places:
            main = max(read.places, key=lambda p: (read.places[p], mentions[p], -len(p), p))
            by_place[main].append(i)

    groups: list[tuple[str, str | None, list[int]]] = []
    for place, members in by_place.items():
        if len(members) < min_size:
            continue
        per_theme: dict[str | None, list[int]] = defaultdict(list)
        for i in members:
            per_theme[reads[i].theme].append(i)
        here: list[tuple[str, str | None, list[int]]] = []
        rest: list[int] = []
        for theme, idx in per_theme.items():
            if theme is not None and len(idx) >= min_size:
                here.append((place, theme, idx))
            else:
                rest.extend(idx)
        if len(rest) >= min_size or not here:
            themes_left = Counter(reads[i].theme for i in rest if reads[i].theme)
            common = themes_left.most_common(1)
            majority = common[0][0] if common and 2 * common[0][1] > len(rest) else None
            here.append((place, majority, rest))
        elif rest:  # too few for a topic of their own: they join the place's biggest one
            biggest = max(here, key=lambda g: len(g[2]))
            biggest[2].extend(rest)
        groups.extend((p, t, sorted(idx)) for p, t, idx in here)
    if not groups:
        return []

    # Distinctive words need every clustered message's words and their document frequency.
    clustered = sorted({i for _, _, idx in groups for i in idx})
    words = {i: _words(texts[i], reads[i].places) for i in clustered}
    df: Counter[str] = Counter()
    for w in words.values():
        df.update(w)
    theme_words = {w for ws in themes.values() for w in ws}
    times = [m.created_at for m in messages if m.created_at is not None]
    newest = max(times) if times else None

    topics: list[Topic] = []
    for place, theme, idx in groups:
        counts: Counter[str] = Counter()
        for i in idx:
            counts.update(words[i])
        n_all = len(clustered)
        often = max(2, math.ceil(WORD_SHARE * len(idx)))
        ranked = sorted(
            (w for w in counts if (not theme or w not in theme) and counts[w] >= often),
            key=lambda w: (
                -counts[w] * math.log(1 + n_all / df[w]) * (2 if w in theme_words else 1),
                w,
            ),
        )
        chosen = tuple(ranked[:top_words])
        districts: Counter[str] = Counter()
        for i in idx:
            districts.update(set(reads[i].districts))
        district = None
        if districts:
            name, n = max(districts.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))
            district = name if 2 * n >= len(idx) else None
        stamps = [t for i in idx if (t := messages[i].created_at) is not None]
        first = min(stamps) if stamps else None
        last = max(stamps) if stamps else None
        senders = len({(messages[i].sender or "").strip() or f"text:{texts[i]}" for i in idx})
        likes = sum(max(messages[i].likes, 0) for i in idx)
        age = _days(newest, last) if newest and last else 0.0
        span = _days(last, first) if first and last else 0.0
        problem = [theme] if theme else []
        label = f"{place}：{'、'.join([*problem, *chosen])}" if problem or chosen else place
        topics.append(
            Topic(
                label=label,
                place=place,
                district=district,
                theme=theme,
                words=chosen,
                size=len(idx),
                senders=senders,
                likes=likes,
                members=tuple(messages[i].id for i in idx),
                first=first,
                last=last,
                heat=round(heat(len(idx), senders, likes, age, span, half_life=half_life), 4),
            )
        )
    topics.sort(key=lambda t: (-t.heat, -t.size, t.label))
    return topics
