"""Salutations from a customer's name and gender: 张先生 / Mr Zhang."""

from __future__ import annotations

__all__ = ["family_name", "salutation", "surname_pinyin"]

# Two-character surnames (复姓) that must not be cut after the first character.
_COMPOUND = {
    "欧阳": "Ouyang",
    "司马": "Sima",
    "上官": "Shangguan",
    "诸葛": "Zhuge",
    "东方": "Dongfang",
    "皇甫": "Huangfu",
    "尉迟": "Yuchi",
    "公孙": "Gongsun",
    "慕容": "Murong",
    "长孙": "Zhangsun",
    "宇文": "Yuwen",
    "司徒": "Situ",
    "司空": "Sikong",
    "夏侯": "Xiahou",
    "令狐": "Linghu",
    "端木": "Duanmu",
    "独孤": "Dugu",
    "南宫": "Nangong",
    "西门": "Ximen",
    "轩辕": "Xuanyuan",
    "申屠": "Shentu",
    "澹台": "Tantai",
    "公冶": "Gongye",
    "呼延": "Huyan",
    "万俟": "Moqi",
}
# Surname readings (some differ from the character's common reading: 单 Shan, 解 Xie, 曾 Zeng);
# 吕 follows the passport convention Lü -> Lyu.


def _table(text: str) -> dict[str, str]:
    return dict(pair.split(":") for pair in text.split())


_SINGLE = _table(
    "王:Wang 李:Li 张:Zhang 刘:Liu 陈:Chen 杨:Yang 黄:Huang 赵:Zhao 吴:Wu 周:Zhou 徐:Xu "
    "孙:Sun 马:Ma 朱:Zhu 胡:Hu 郭:Guo 何:He 林:Lin 高:Gao 罗:Luo 郑:Zheng 梁:Liang 谢:Xie "
    "宋:Song 唐:Tang 许:Xu 韩:Han 邓:Deng 冯:Feng 曹:Cao 彭:Peng 曾:Zeng 肖:Xiao 田:Tian "
    "董:Dong 潘:Pan 袁:Yuan 蔡:Cai 蒋:Jiang 余:Yu 于:Yu 杜:Du 叶:Ye 程:Cheng 魏:Wei 苏:Su "
    "吕:Lyu 丁:Ding 任:Ren 卢:Lu 姚:Yao 沈:Shen 钟:Zhong 姜:Jiang 崔:Cui 谭:Tan 陆:Lu "
    "范:Fan 汪:Wang 廖:Liao 石:Shi 金:Jin 韦:Wei 贾:Jia 夏:Xia 付:Fu 方:Fang 邹:Zou "
    "熊:Xiong 白:Bai 孟:Meng 秦:Qin 邱:Qiu 侯:Hou 江:Jiang 尹:Yin 薛:Xue 闫:Yan 段:Duan "
    "雷:Lei 黎:Li 史:Shi 龙:Long 陶:Tao 贺:He 顾:Gu 毛:Mao 郝:Hao 龚:Gong 邵:Shao 万:Wan "
    "钱:Qian 严:Yan 覃:Qin 武:Wu 戴:Dai 莫:Mo 孔:Kong 向:Xiang 汤:Tang 常:Chang 温:Wen "
    "康:Kang 施:Shi 文:Wen 牛:Niu 樊:Fan 葛:Ge 邢:Xing 安:An 齐:Qi 易:Yi 乔:Qiao 伍:Wu "
    "庞:Pang 颜:Yan 倪:Ni 庄:Zhuang 聂:Nie 章:Zhang 鲁:Lu 岳:Yue 翟:Zhai 殷:Yin 詹:Zhan "
    "申:Shen 欧:Ou 耿:Geng 关:Guan 兰:Lan 焦:Jiao 俞:Yu 左:Zuo 柳:Liu 甘:Gan 祝:Zhu 包:Bao "
    "宁:Ning 尚:Shang 符:Fu 舒:Shu 阮:Ruan 柯:Ke 纪:Ji 梅:Mei 童:Tong 凌:Ling 毕:Bi 单:Shan "
    "季:Ji 裴:Pei 霍:Huo 涂:Tu 成:Cheng 苗:Miao 谷:Gu 盛:Sheng 曲:Qu 翁:Weng 冉:Ran 骆:Luo "
    "蓝:Lan 路:Lu 游:You 辛:Xin 靳:Jin 管:Guan 柴:Chai 蒙:Meng 鲍:Bao 华:Hua 喻:Yu 祁:Qi "
    "蒲:Pu 房:Fang 滕:Teng 屈:Qu 饶:Rao 解:Xie 牟:Mou 艾:Ai 尤:You 阳:Yang 时:Shi 穆:Mu "
    "农:Nong 司:Si 卓:Zhuo 古:Gu 吉:Ji 缪:Miao 简:Jian 车:Che 项:Xiang 连:Lian 麦:Mai "
    "褚:Chu 娄:Lou 窦:Dou 戚:Qi 岑:Cen 景:Jing 党:Dang 宫:Gong 费:Fei 卜:Bu 冷:Leng 晏:Yan "
    "席:Xi 卫:Wei 米:Mi 柏:Bai 宗:Zong 瞿:Qu 桂:Gui 全:Quan 佟:Tong 应:Ying 臧:Zang 闵:Min "
    "苟:Gou 邬:Wu 边:Bian 卞:Bian 姬:Ji 师:Shi 和:He 仇:Qiu 栾:Luan 隋:Sui 商:Shang 刁:Diao "
    "沙:Sha 荣:Rong 巫:Wu 寇:Kou 桑:Sang 郎:Lang 甄:Zhen 丛:Cong 仲:Zhong 虞:Yu 敖:Ao "
    "巩:Gong 明:Ming 佘:She 池:Chi 查:Zha 麻:Ma 苑:Yuan 迟:Chi 邝:Kuang"
)

_TITLES = {"M": ("先生", "Mr"), "F": ("女士", "Ms")}
GENERIC_ZH = "尊敬的客户"
GENERIC_EN = "Valued customer"


def family_name(name: str) -> str:
    """Return the family name: a known two-character surname, else the first character."""
    name = name.strip()
    if not name:
        return ""
    if name.isascii():  # a name in Latin letters ("Anna Smith"): the last word
        return name.split()[-1]
    if len(name) >= 3 and name[:2] in _COMPOUND:
        return name[:2]
    return name[0]


def surname_pinyin(family: str) -> str | None:
    """Return the Hanyu Pinyin of a common surname (no tones), or None if not in the table."""
    return _COMPOUND.get(family) or _SINGLE.get(family)


def _gender(gender: object, id_number: object) -> str | None:
    if gender in _TITLES:
        return str(gender)
    # GB 11643 §5: the 17th character (sequence code) is odd for men and even for women.
    if isinstance(id_number, str) and len(id_number) == 18 and id_number[16].isdigit():
        return "M" if int(id_number[16]) % 2 else "F"
    return None


def salutation(name: object, gender: object, id_number: object = None) -> tuple[str, str]:
    """Return (zh, en) salutations: ('张先生', 'Mr Zhang'); a generic one without name or gender."""
    family = family_name(name) if isinstance(name, str) else ""
    sex = _gender(gender, id_number)
    if not family or sex is None:
        return GENERIC_ZH, GENERIC_EN
    title_zh, title_en = _TITLES[sex]
    if family.isascii():
        return f"{family}{title_zh}", f"{title_en} {family}"
    return f"{family}{title_zh}", f"{title_en} {surname_pinyin(family) or family}"
