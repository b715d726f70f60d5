"""Settings shared by the fixtures in conftest.py and by tests that need the same constants.

Kept out of conftest.py because tests/e2e has a conftest.py of its own, so `from conftest import ...`
would be ambiguous.
"""

from __future__ import annotations

from datetime import date

import yaml

from warehouse.definitions import Definitions

SAMPLE_SEED = 7
SAMPLE_TODAY = date(2025, 11, 20)

SMALL_DEFS_YAML = """
version: 1
region_groups:
  - id: wansheng
    name: {zh: 万盛经开区, en: Wansheng ETDZ}
    parent: "50"
    members: ["500110004", "500110005", "500110100", "500110101", "500110102", "500110103", "500110104",
              "500110105", "500110106", "500110107"]
  - id: sanzhou
    name: {zh: 三州地区, en: the three prefectures}
    parent: "51"
    members: ["5132", "5133", "5134"]
indicators:
  - id: facility_area_per_100hh
    name: {zh: 每百户居民拥有社区综合服务设施面积, en: Community service facility area per 100 households}
    unit: {zh: 平方米, en: m²}
    bounds: {min: 0}
    aggregation: {rule: ratio, scale: 100, numerator: {zh: 设施面积（平方米）}, denominator: {zh: 居民户数}}
    reported_at: [country, province, city, county, township]
  - id: urban_service_coverage
    name: {zh: 城市社区综合服务设施覆盖率, en: Urban community service facility coverage}
    unit: {zh: "%", en: "%"}
    bounds: {min: 0, max: 100}
    covers: urban
    aggregation: {rule: ratio, scale: 100, numerator: {zh: 有设施的城市社区数}, denominator: {zh: 城市社区数}}
    reported_at: [country, province, city, county, township]
  - id: social_workers
    name: {zh: 社区工作者人数, en: Community workers}
    unit: {zh: 人, en: persons}
    bounds: {min: 0}
    aggregation: {rule: sum}
    reported_at: [country, province, city, county]
  - id: workers_per_community
    name: {zh: 每个社区持证社工人数, en: Certified social workers per community}
    unit: {zh: 人, en: persons}
    bounds: {min: 0}
    aggregation: {rule: per_community}
  - id: satisfaction
    name: {zh: 居民满意度, en: Residents' satisfaction}
    unit: {zh: "%", en: "%"}
    bounds: {min: 0, max: 100}
    aggregation: {rule: weighted_mean, denominator: {zh: 受访人数}}
  - id: service_visits
    name: {zh: 社区服务人次, en: Community service visits}
    unit: {zh: 人次, en: visits}
    bounds: {min: 0}
    frequency: monthly
    due_days: 15
    aggregation: {rule: sum}
plans:
  - id: national_2021
    name: {zh: 城乡社区服务体系建设规划（2021—2025年）}
    issuer: {zh: 国务院办公厅}
    period: {start: 2021, baseline: 2020, target: 2025}
    region: CN
    targets:
      - {indicator: urban_service_coverage, attribute: binding, baseline: {value: 90, year: 2020},
         target: {comparator: "=", value: 100, year: 2025}, applies_at: [total], source: {table: 专栏1, row: 1}}
      - {indicator: facility_area_per_100hh, attribute: expected, baseline: {value: 26, year: 2020},
         target: {comparator: ">=", value: 30, year: 2025}, source: {table: 专栏1, row: 2}}
      - {indicator: social_workers, attribute: expected, baseline: {value: 4000000, year: 2020},
         target: {comparator: ">=", value: 4500000, year: 2025}, source: {table: 专栏1, row: 3}}
  - id: chongqing_2021
    name: {zh: 重庆市城乡社区服务体系建设“十四五”规划}
    issuer: {zh: 重庆市人民政府办公厅}
    parent: national_2021
    period: {start: 2021, baseline: 2020, target: 2025}
    region: "50"
    targets:
      - {indicator: facility_area_per_100hh, attribute: binding, baseline: {value: 25, year: 2020},
         target: {comparator: ">=", value: 30, year: 2025}, applies_at: [total, county], source: {table: 专栏1, row: 1}}
      - {indicator: workers_per_community, attribute: expected, baseline: {value: 0.8, year: 2020},
         target: {comparator: ">=", value: 1.5, year: 2025}, source: {table: 专栏1, row: 2}}
      - {indicator: satisfaction, attribute: expected, baseline: {value: 85, year: 2020},
         target: {comparator: ">=", value: 92, year: 2025}, source: {table: 专栏1, row: 3}}
      - {indicator: service_visits, attribute: expected, baseline: {value: 600000, year: 2020},
         target: {comparator: ">=", value: 800000, year: 2025}, source: {table: 专栏1, row: 4}}
  - id: wansheng_2016
    name: {zh: 万盛经开区城乡社区服务体系建设规划（2016—2020年）}
    issuer: {zh: 万盛经开区管委会}
    parent: chongqing_2021
    period: {start: 2016, baseline: 2015, target: 2020}
    region: group:wansheng
    targets:
      - {indicator: facility_area_per_100hh, attribute: binding, baseline: {value: 18, year: 2015},
         target: {comparator: ">=", value: 24, year: 2020}, applies_at: [total, township], source: {table: 表1, row: 1}}
  - id: sichuan_2021
    name: {zh: 四川省城乡社区服务体系建设规划（2021—2025年）}
    issuer: {zh: 四川省人民政府办公厅}
    parent: national_2021
    period: {start: 2021, baseline: 2020, target: 2025}
    region: "51"
    targets:
      - {indicator: urban_service_coverage, attribute: binding, baseline: {value: 85, year: 2020},
         target: {comparator: ">=", value: 100, year: 2025}, applies_at: [city], exclude: [group:sanzhou],
         source: {table: 专栏1, row: 1}}
      - {indicator: satisfaction, attribute: expected, baseline: {year: 2020, as_written: "—"},
         target: {comparator: ">=", value: 90, year: 2025}, applies_at: [city], source: {table: 专栏1, row: 2}}
"""


def small_definitions_model() -> Definitions:
    return Definitions.model_validate(yaml.safe_load(SMALL_DEFS_YAML))
