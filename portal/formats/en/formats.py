"""One date format across the web UI and the admin: "30 Nov 2026, 02:32" (times in UTC, TIME_ZONE).

Django's own English formats ("Nov. 30, 2026, 2:32 a.m.") are replaced through FORMAT_MODULE_PATH.
"""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
