"""Settings for the loan back office, read from the environment (django-environ).

Every variable is listed in the README's configuration table. The embedded default
(no environment at all) runs on SQLite under ``var/`` with a filesystem Celery broker;
``DATABASE_URL`` and ``REDIS_URL`` switch to MySQL/MariaDB and Redis.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("LOANSITE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# "development" (default) or "production", in any letter case; anything else stops the start
# (a mistyped "Prodution" must never run development mode with DEBUG on).
DJANGO_ENV = env.str("DJANGO_ENV", default="development").strip().lower()
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}.")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])

if PRODUCTION:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production.")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production.")
    if any("*" in host for host in ALLOWED_HOSTS):
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts (no '*') when DJANGO_ENV=production.")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters in production.")
elif not SECRET_KEY:
    # Development only: a key kept in var/ so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------
DJANGO_APPS = [
    "loansite.apps.LoanAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "import_export",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]
LOCAL_APPS = [
    "loansite",
    # No models of its own, so never last: the roles sync waits for the last app's post_migrate.
    "loansite.two_factor",
    "audit",
    "customers",
    "loans",
    "risk",
    "scoring",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Django's, except that a request which did not change the session leaves its cookie alone.
    "loansite.sessions.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Log out sessions whose account changed roles, flags or was signed out everywhere.
    "loansite.middleware.SessionStampMiddleware",
    # request.user.is_verified(): the session passed the second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "audit.middleware.RequestContextMiddleware",
    # POSTs to the admin login: the per-address sign-in limit (LOGIN_IP_RATE).
    "loansite.throttling.LoginRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-axes must come last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loansite.urls"
WSGI_APPLICATION = "loansite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock at BEGIN: concurrent read-modify-write
            # transactions wait instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            # wal_autocheckpoint 4000 pages (16 MB, default 1000): a checkpoint (two fsyncs,
            # pages rewritten) every ~300 public submissions instead of every ~70; measured
            # mean COMMIT 2.1 ms -> 0.8 ms. journal_size_limit: once checkpointed, a log that
            # grew past 256 MB shrinks back to it; below that the file is kept and written over,
            # as the risk scoring's checkpoints let it grow to about 230 MB
            # (risk.services.ingest.CHECKPOINT_WEIGHT): growing a file into new space cost the
            # kernel more than rewriting it.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=4000; "
                "PRAGMA journal_size_limit=268435456;"
            ),
        }
    )
elif _db["ENGINE"] in ("django.db.backends.mysql",):
    _db.setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            "init_command": (
                "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'"
            ),
            "isolation_level": "read committed",
        }
    )
    _db.setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})
# Persistent connections (a new MariaDB connection per request costs milliseconds), checked
# before reuse so a server restart never surfaces as an error.
_db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
_db.setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Cache and Celery
# ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by every web and worker process on this machine (rate limits, lockouts).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# How long a signed task authorisation (loansite.task_authorisation) stays good: queue wait
# plus, for a redelivered message, the broker's visibility timeout.
TASK_AUTHORISATION_MAX_AGE = env.int("TASK_AUTHORISATION_MAX_AGE", default=6 * 3600)

# ---------------------------------------------------------------------------
# Authentication, sessions, lockout
# ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Lock on username + IP after repeated failures, with a cool-off rather than forever.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# The client address comes from the one trusted-proxy setting (TRUSTED_PROXY_IP_HEADER).
AXES_CLIENT_IP_CALLABLE = "loansite.proxy.client_ip"
# A refused attempt while locked does not restart the cool-off: the lockout ends when it says.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "loansite.throttling.lockout_response"
AXES_VERBOSE = False

# Sessions (only staff have them) end after 30 idle minutes (OWASP ASVS L2 3.3.2).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Two-factor authentication (django-otp, TOTP plus single-use recovery codes): who must use
# it is in loansite/two_factor/selectors.py. Wrong codes back off exponentially (1, 2, 4 ... s).
OTP_TOTP_ISSUER = "Loan back office"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# The one trusted-proxy setting (loansite.proxy.client_ip): the header the reverse proxy sets
# (e.g. "HTTP_X_FORWARDED_FOR") and how many proxies append to it. Empty: REMOTE_ADDR only.
# It decides the client address of the login throttles, the axes lockout, the public-form
# rate limits and the audit trail alike; the application must be reachable only through
# the proxy when it is set.
TRUSTED_PROXY_IP_HEADER = env.str("TRUSTED_PROXY_IP_HEADER", default="")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
if TRUSTED_PROXY_IP_HEADER and not re.fullmatch(r"HTTP_[A-Z0-9_]+", TRUSTED_PROXY_IP_HEADER):
    # A header name as the client sends it ("X-Forwarded-For") never matches request.META:
    # every client would get the proxy's address.
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_IP_HEADER is a request.META name (HTTP_X_FORWARDED_FOR), not {TRUSTED_PROXY_IP_HEADER!r}."
    )
if TRUSTED_PROXY_COUNT < 1:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be at least 1.")

# Sign-in attempts per client address across usernames (admin and API login together).
LOGIN_IP_RATE = env.str("LOGIN_IP_RATE", default="20/m")
# Failed logins: the first N per (address, username) and window are audited one by one,
# the rest as one aggregate entry per window.
LOGIN_FAILURE_AUDIT_LIMIT = env.int("LOGIN_FAILURE_AUDIT_LIMIT", default=10)
LOGIN_FAILURE_AUDIT_WINDOW = 60 * env.int("LOGIN_FAILURE_AUDIT_WINDOW_MINUTES", default=15)

# Audit chain: HMAC key kept outside the database, and the head anchor file.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
AUDIT_HMAC_KEY_MIN_LENGTH = 32
if not AUDIT_HMAC_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY must be set when DJANGO_ENV=production.")
    AUDIT_HMAC_KEY = "dev-audit-key:" + SECRET_KEY
elif PRODUCTION and (
    len(AUDIT_HMAC_KEY) < AUDIT_HMAC_KEY_MIN_LENGTH or len(set(AUDIT_HMAC_KEY)) < 8 or AUDIT_HMAC_KEY == SECRET_KEY
):
    raise ImproperlyConfigured(
        f"AUDIT_HMAC_KEY must be a random value of at least {AUDIT_HMAC_KEY_MIN_LENGTH} characters, "
        "other than SECRET_KEY, when DJANGO_ENV=production."
    )
AUDIT_ANCHOR_FILE = Path(env.str("AUDIT_ANCHOR_FILE", default=str(VAR_DIR / "audit-head.json")))

# Encryption at rest of resident ID numbers and phones (loansite/encryption.py): the first
# key encrypts, every key decrypts (rotation: manage.py rotate_field_keys); the hash key
# finds and de-duplicates them. Kept outside the database, the same on every machine.
from loansite.encryption import hash_key_check, key_decode, key_generate  # noqa: E402

FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
FIELD_HASH_KEY = env.str("FIELD_HASH_KEY", default="")
FIELD_HASH_KEY_PREVIOUS = env.str("FIELD_HASH_KEY_PREVIOUS", default="")
if not FIELD_ENCRYPTION_KEYS or not FIELD_HASH_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS and FIELD_HASH_KEY must be set when DJANGO_ENV=production.")

    def _dev_key(file_name: str) -> str:
        """Development only: a random key kept in var/ beside the database (no protection there)."""
        path = VAR_DIR / file_name
        if not path.exists():
            path.write_text(key_generate())
            path.chmod(0o600)
        return path.read_text().strip()

    FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [_dev_key("field_encryption_key")]
    FIELD_HASH_KEY = FIELD_HASH_KEY or _dev_key("field_hash_key")
for _key in FIELD_ENCRYPTION_KEYS:  # malformed or short keys stop the start
    key_decode(_key)
hash_key_check(FIELD_HASH_KEY)
if FIELD_HASH_KEY in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_HASH_KEY must be a key of its own, not one of FIELD_ENCRYPTION_KEYS.")
if FIELD_HASH_KEY_PREVIOUS:
    hash_key_check(FIELD_HASH_KEY_PREVIOUS, name="FIELD_HASH_KEY_PREVIOUS")

# ---------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, plus: tokens end with a password / role change, deactivation or logout.
        "loansite.api.authentication.StampedJWTAuthentication",
        # Sessions count only once they passed the second factor where it applies.
        "loansite.two_factor.api.TwoFactorSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["loansite.api.permissions.StaffModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # One tag per business area (customers, loans, servicing, collections, risk, ...).
    "DEFAULT_SCHEMA_CLASS": "loansite.api.schema.AreaAutoSchema",
    "EXCEPTION_HANDLER": "loansite.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("API_AUTH_THROTTLE", default="10/min")},
    # Stock throttles key on REMOTE_ADDR, never on a client-written X-Forwarded-For; the
    # project's own (loansite.api.throttles) use the trusted-proxy setting.
    "NUM_PROXIES": 0,
    # JSON with a size and a nesting limit (413 / 400, never a RecursionError); forms as usual.
    "DEFAULT_PARSER_CLASSES": [
        "loansite.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
API_JSON_MAX_BYTES = env.int("API_JSON_MAX_BYTES", default=2_621_440)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Staff tokens say whom they are for; portal tokens ("portal", customers/portal/api_auth.py)
    # are refused here, and staff tokens there.
    "AUDIENCE": "staff",
}
# Customer portal (/portal/, /api/v1/portal/): idle sign-out, one-time codes, portal tokens
# (signed with a key of their own, derived from SECRET_KEY unless PORTAL_JWT_SIGNING_KEY is set).
PORTAL_IDLE_SECONDS = env.int("PORTAL_IDLE_SECONDS", default=15 * 60)
PORTAL_CODE_MINUTES = env.int("PORTAL_CODE_MINUTES", default=10)
PORTAL_CODE_ATTEMPTS = env.int("PORTAL_CODE_ATTEMPTS", default=5)
PORTAL_CODE_RATE = env.str("PORTAL_CODE_RATE", default="5/10m")
# Codes texted to one customer or account per hour, from any number of addresses.
PORTAL_CODE_PER_HOUR = env.int("PORTAL_CODE_PER_HOUR", default=5)
# Failed portal sign-ins from all addresses together before an account locks, and for how long.
PORTAL_ACCOUNT_FAILURE_LIMIT = env.int("PORTAL_ACCOUNT_FAILURE_LIMIT", default=20)
PORTAL_ACCOUNT_COOLOFF_MINUTES = env.int("PORTAL_ACCOUNT_COOLOFF_MINUTES", default=60)
PORTAL_JWT_SIGNING_KEY = env.str("PORTAL_JWT_SIGNING_KEY", default="")
PORTAL_JWT_ACCESS_MINUTES = env.int("PORTAL_JWT_ACCESS_MINUTES", default=15)
PORTAL_JWT_REFRESH_DAYS = env.int("PORTAL_JWT_REFRESH_DAYS", default=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Loan back office API",
    "DESCRIPTION": "Customers, loan origination, risk, scoring and audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Offline: Swagger UI and ReDoc assets come from drf-spectacular-sidecar.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Operations grouped by business area, in this order (the tag comes from loansite/api/schema.py).
    "TAGS": [
        {"name": "customers", "description": "Customers, relationship managers, tags, matching and ratings."},
        {"name": "loans", "description": "Loan products and applications: submission, review and decisions."},
        {"name": "servicing", "description": "Disbursements, loans, repayments, prepayment and restructuring."},
        {"name": "collections", "description": "Delinquency, the daily close, collections and write-offs."},
        {"name": "risk", "description": "Transactions, logins, rules, risk events, alerts and monitoring."},
        {"name": "scoring", "description": "Model training, the model registry, predictions and batch scoring."},
        {"name": "audit", "description": "The audit trail."},
        {"name": "auth", "description": "Sign-in, tokens, the signed-in user and password changes."},
    ],
}

# ---------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
# The project's catalogue first; then catalogues of installed packages whose wheels ship no
# compiled translation (django-celery-results).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "loansite" / "locale_third_party"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# Dates, times and numbers shown the same way everywhere (loansite/formatting.py).
FORMAT_MODULE_PATH = ["loansite.formats"]

# Customer messages (the daily close's reminders): email through Django's backend (console by
# default), text messages through loansite.sms (a logging backend by default), in the customer's
# language or REMINDER_LANGUAGE.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@loans.example")
SMS_BACKEND = env.str("SMS_BACKEND", default="loansite.sms.LoggingSmsBackend")
REMINDER_LANGUAGE = env.str("REMINDER_LANGUAGE", default="zh-hans")
# The daily close works on this many loan ids per transaction.
LOANS_CLOSE_CHUNK = env.int("LOANS_CLOSE_CHUNK", default=50_000)

# ---------------------------------------------------------------------------
# Static and media
# ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Forms never need more fields than this; batch actions on larger selections post
# "select across" (the changelist's filters) instead of every id.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Should any admin use django-import-export's own import views: a temporary storage that takes
# only the random names it makes (its confirm form names the file). Our imports use ImportUpload.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "loansite.tabular.StrictTmpStorage"

# Import files (customers, loan applications): limits, background threshold, upload lifetime.
# Put the same upload limit (or a little more) on the reverse proxy (nginx client_max_body_size).
IMPORT_MAX_UPLOAD_MB = env.float("IMPORT_MAX_UPLOAD_MB", default=20)
IMPORT_MAX_UNCOMPRESSED_MB = env.float("IMPORT_MAX_UNCOMPRESSED_MB", default=100)  # an XLSX, unzipped
IMPORT_MAX_ZIP_ENTRIES = env.int("IMPORT_MAX_ZIP_ENTRIES", default=100)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=200)
IMPORT_UPLOAD_TTL_HOURS = env.float("IMPORT_UPLOAD_TTL_HOURS", default=2)
CUSTOMER_IMPORT_MAX_ROWS = env.int("CUSTOMER_IMPORT_MAX_ROWS", default=200_000)
CUSTOMER_IMPORT_ASYNC_ROWS = env.int("CUSTOMER_IMPORT_ASYNC_ROWS", default=2_000)
APPLICATION_IMPORT_MAX_ROWS = env.int("APPLICATION_IMPORT_MAX_ROWS", default=20_000)
APPLICATION_IMPORT_ASYNC_ROWS = env.int("APPLICATION_IMPORT_ASYNC_ROWS", default=200)
# Documents (资料): the largest upload, what an office document may expand to, where the files
# are kept (inside MEDIA_ROOT, never served: downloads go through permission-checked views).
DOCUMENTS_MAX_UPLOAD_MB = env.float("DOCUMENTS_MAX_UPLOAD_MB", default=10)
DOCUMENTS_MAX_UNCOMPRESSED_MB = env.float("DOCUMENTS_MAX_UNCOMPRESSED_MB", default=100)
DOCUMENTS_MAX_ZIP_ENTRIES = env.int("DOCUMENTS_MAX_ZIP_ENTRIES", default=1000)
DOCUMENTS_ROOT = Path(env.str("DOCUMENTS_ROOT", default=str(MEDIA_ROOT / "documents")))
# Write-off (核销): a loan qualifies in the loss category or from this many days past due.
WRITE_OFF_MIN_DPD = env.int("WRITE_OFF_MIN_DPD", default=180)
# Reading an uploaded file stops once it passes IMPORT_MAX_UPLOAD_MB (before memory or disk).
FILE_UPLOAD_HANDLERS = [
    "loansite.tabular.ImportUploadSizeHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# ---------------------------------------------------------------------------
# Security (production)
# ---------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp 4): scripts, styles, fonts and everything else from this
# site only; no inline script or style anywhere (the admin, the public pages and the API docs
# keep theirs in static files); no plugins, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env.bool("BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
    for _origin in CSRF_TRUSTED_ORIGINS:
        _host = _origin.partition("://")[2]
        # https only; "https://*.bank.internal" names a domain, "https://*" names everyone.
        if not _origin.startswith("https://") or not _host.lstrip("*."):
            raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS takes https:// origins of named hosts, not {_origin!r}.")

# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # The audit chain head is logged at every commit so it lives outside the database too.
        "audit.chain": {"level": env.str("AUDIT_CHAIN_LOG_LEVEL", default="INFO" if PRODUCTION else "WARNING")},
    },
}

# Public form and lookup rate limits (per client IP), e.g. "10/m", "60/h", "30/10m".
# PUBLIC_APPLY_RATE counts applications filed (a form with mistakes costs nothing), so
# many applicants behind one carrier address can use it; PUBLIC_APPLY_ATTEMPT_RATE only
# stops floods of posts.
PUBLIC_APPLY_RATE = env.str("PUBLIC_APPLY_RATE", default="60/h")
PUBLIC_APPLY_ATTEMPT_RATE = env.str("PUBLIC_APPLY_ATTEMPT_RATE", default="120/m")
PUBLIC_STATUS_RATE = env.str("PUBLIC_STATUS_RATE", default="20/m")

# drf-spectacular: name the choice sets whose field names collide across apps.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "ModelKindEnum": "scoring.models.ModelKind",
        "ModelVersionStatusEnum": "scoring.models.ModelVersion.Status",
        "RunStatusEnum": "scoring.models.RunStatus",
        "ScoringScopeEnum": "scoring.models.ScoringRun.Scope",
    }
)
# ... and the customer book's.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "CustomerKindEnum": "customers.models.Customer.Kind",
        "CreditLineStatusEnum": "customers.models.CreditLine.Status",
        "MatchingRunScopeEnum": "customers.models.MatchingRun.Scope",
        "MatchingRunStatusEnum": "customers.models.MatchingRun.Status",
        # With the credit line's status named, the application status needs a name too.
        "ApplicationStatusEnum": "loans.models.ApplicationStatus",
    }
)
# ... and the risk platform's.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ApplicationChannelEnum": "loans.models.Channel",
        "TransactionChannelEnum": "risk.models.Transaction.Channel",
        "InputSourceEnum": "risk.models.inputs.Source",
        "RiskEventSourceEnum": "risk.models.events.EventSource",
        "RiskEventStatusEnum": "risk.models.RiskEvent.Status",
        "AlertStatusEnum": "risk.models.Alert.Status",
    }
)
# ... and servicing's (loans, disbursements, repayments, security).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "RepaymentMethodEnum": "loans.models.RepaymentMethod",
        "LoanStatusEnum": "loans.models.LoanStatus",
        "InstallmentStatusEnum": "loans.models.InstallmentStatus",
        "DisbursementStatusEnum": "loans.models.Disbursement.Status",
        "RepaymentStatusEnum": "loans.models.Repayment.Status",
        "RepaymentKindEnum": "loans.models.Repayment.Kind",
        "RepaymentChannelEnum": "loans.models.Repayment.Channel",
        "CollateralStatusEnum": "loans.models.Collateral.Status",
        "GuaranteeStatusEnum": "loans.models.Guarantee.Status",
        "ScheduleVersionReasonEnum": "loans.models.ScheduleVersion.Reason",
        "LedgerEntryKindEnum": "loans.models.LedgerEntry.Kind",
        # Documents' kinds (the staff and the portal APIs alike).
        "DocumentKindEnum": "loans.models.DocumentKind",
    }
)
# ... and delinquency's, collections', ratings' and risk outcomes'.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "RiskClassEnum": "loans.models.delinquency.RiskClass",
        "InternalRatingEnum": "customers.models.Rating",
        "LegalStatusEnum": "loans.models.collections.LegalStatus",
        "ContactChannelEnum": "loans.models.collections.ContactChannel",
        "ContactOutcomeEnum": "loans.models.collections.ContactOutcome",
        "RiskEventOutcomeEnum": "risk.models.events.RiskEvent.Outcome",
    }
)
