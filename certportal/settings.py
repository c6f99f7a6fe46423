"""certportal settings, read from the environment (django-environ, optional ``.env``).

Development runs on embedded defaults (SQLite, eager tasks, local-memory cache, development
keys). Production is ``DEBUG`` off: it refuses to start while any development key is in use.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# Development keys: public, in this file, and therefore refused in production.
DEV_SECRET_KEY = "dev-insecure-certportal-secret-key-change-me-in-production"  # noqa: S105
DEV_PII_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLXBpaS1rZXktMzItYnl0ZXMhISE="
DEV_PII_INDEX_KEY = "dev-insecure-pii-blind-index-key"

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[DEV_PII_ENCRYPTION_KEY])
PII_INDEX_KEY = env.str("PII_INDEX_KEY", default=DEV_PII_INDEX_KEY)


def _refuse_development_keys() -> None:
    """Production must not run on the keys published in this file."""
    problems = []
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        problems.append("SECRET_KEY (至少 50 个随机字符 / at least 50 random characters)")
    if DEV_PII_ENCRYPTION_KEY in PII_ENCRYPTION_KEYS:
        problems.append("PII_ENCRYPTION_KEYS (Fernet 密钥，逗号分隔，新密钥在前 / Fernet keys)")
    if PII_INDEX_KEY == DEV_PII_INDEX_KEY or len(PII_INDEX_KEY) < 32:
        problems.append("PII_INDEX_KEY (至少 32 个随机字符 / at least 32 random characters)")
    if problems:
        raise ImproperlyConfigured(
            "生产环境（DEBUG 关闭）不能使用开发密钥，请设置以下环境变量 / "
            "production (DEBUG off) refuses development keys; set: " + "; ".join(problems)
        )


if not DEBUG:
    _refuse_development_keys()

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")


def _require_public_site_url() -> None:
    """Every QR code and e-mail link is made from SITE_URL, and a certificate keeps its QR
    code for years: production must not start with the development default (a QR code that
    opens the inspector's own phone) nor any address a phone cannot reach over HTTPS."""
    from urllib.parse import urlsplit

    parts = urlsplit(SITE_URL)
    host = (parts.hostname or "").lower()
    try:
        local = ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_private
    except ValueError:
        local = host == "localhost" or host.endswith(".localhost") or "." not in host
    if "SITE_URL" not in env.ENVIRON or parts.scheme != "https" or not host or local:
        raise ImproperlyConfigured(
            f"生产环境（DEBUG 关闭）须将 SITE_URL 设为公众可访问的 https 地址（二维码与邮件链接"
            f"由它生成），当前为 {SITE_URL!r} / production needs SITE_URL, the public https "
            "address QR codes and e-mail links are made from, e.g. https://certs.example.gov.cn"
        )


if not DEBUG:
    _require_public_site_url()
# Empty counts as unset (compose passes every variable, set or not).
CSRF_FAILURE_VIEW = "certportal.views.csrf_failure"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[]) or [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "certportal.apps.AxesConfig",  # django-axes, named in Chinese
    "certportal",
    "applicants",
    "exams",
    "certificates",
    "renewals",
    "verification",
]

MIDDLEWARE = [
    # Before the host check and the HTTPS redirect: see its docstring.
    "certportal.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "certportal.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "certportal.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "certportal.middleware.AdminIdNumberInAddressMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # An address past its budget of failed logins is refused before the password is read.
    "applicants.throttle.LoginAddressThrottleMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "certportal.urls"
WSGI_APPLICATION = "certportal.wsgi.application"
AUTH_USER_MODEL = "applicants.User"

TEMPLATES = [
    {
        "NAME": "django",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "certportal.context_processors.portal",
            ],
        },
    },
    # The public verification pages, served under load (SPEC 7): see certportal/jinja.py.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "certportal.jinja.environment",
            "context_processors": [
                "certportal.jinja.csrf",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "certportal.jinja.portal",
            ],
        },
    },
]

# Database: SQLite by default; PostgreSQL (psycopg 3) when DATABASE_URL says so, with
# persistent connections that are health-checked before reuse.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that needs no round trip (see its docstring).
    DATABASES["default"]["ENGINE"] = "certportal.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Prepared statements for the statements every public lookup runs (verification.selectors
    # runs them on server-side binding cursors; the ORM's client-side cursors never prepare):
    # psycopg prepares one on a connection after this many runs. "off" behind a connection
    # pooler in transaction mode that cannot carry prepared statements.
    _prepare = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip().lower()
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if _prepare in ("off", "none", "") else int(_prepare)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: cache and Celery broker when REDIS_URL is set; otherwise local memory and eager tasks.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "certportal",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# Where tasks are sent when nothing routes them elsewhere: deployments sharing one Redis (and
# the tests' own workers) each set their own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Redis has no acknowledgements of its own: a task taken by a worker that then dies without a
# word (SIGKILL, a lost machine) is handed out again once it has stayed unacknowledged this many
# seconds. (A pool process killed under a living worker is requeued at once:
# reject_on_worker_lost.) Above the longest task time limit (run_batch_issue, 3600 s), or a
# slow task still running is handed out again; the worker-death test lowers it to see a
# redelivery within seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=7200),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A batch issue's run holds the batch this long, renewed after each group of candidates (well
# under a second each): a second copy of its message (redelivered, or sent again by the sweep)
# waits for the lease to lapse, so one run at a time writes the batch's progress and report.
# A run whose worker died is taken up once its lease lapses; the worker-death test lowers it.
BATCH_ISSUE_LEASE = timedelta(seconds=env.int("BATCH_ISSUE_LEASE_SECONDS", default=300))
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE = {
    "render-pending-certificates": {
        "task": "certificates.tasks.enqueue_pending_renders",
        "schedule": 600.0,
    },
    "render-missing-tickets": {
        "task": "exams.tasks.enqueue_missing_tickets",
        "schedule": 600.0,
    },
    "remove-abandoned-partial-files": {
        "task": "certportal.tasks.remove_abandoned_partials",
        "schedule": crontab(hour=3, minute=30),
    },
    # Before the expiry sweep, so that a certificate a lapsed renewal kept valid expires too.
    "close-lapsed-renewals": {
        "task": "renewals.tasks.close_lapsed_renewals",
        "schedule": crontab(hour=0, minute=1),
    },
    "expire-certificates": {
        "task": "certificates.tasks.expire_certificates",
        "schedule": crontab(hour=0, minute=5),
    },
    "expiry-reminders": {
        "task": "certificates.tasks.send_expiry_reminders",
        "schedule": crontab(hour=8, minute=0),
    },
}

AUTHENTICATION_BACKENDS = [
    # First: refuses to authenticate while an account or an address is locked out.
    "axes.backends.AxesStandaloneBackend",
    # Applicants log in with their mobile number (the username) or their ID number.
    "applicants.backends.MobileOrIdNumberBackend",
]

# Throttled logins (the portal's and the admin's): 5 failures lock the account name, and
# separately the client address, for 15 minutes. The attempted login name is stored only as
# the applicants' own hash when it is an ID number, never in clear.
# Reverse proxies in front of the web processes, each appending the address it saw to
# X-Forwarded-For (nginx: proxy_add_x_forwarded_for). 0: clients connect directly.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Where those proxies connect from (comma-separated networks; required with a proxy count):
# X-Forwarded-For is believed only from these addresses. A request from anywhere else (a
# client that reached gunicorn past the proxies) is keyed by its own address.
TRUSTED_PROXY_NETWORKS = [
    n.strip() for n in env.list("TRUSTED_PROXY_NETWORKS", default=[]) if n.strip()
]
for _network in TRUSTED_PROXY_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _error:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_NETWORKS 中的 {_network!r} 不是网段 / is not a network (10.0.0.0/8)"
        ) from _error
if TRUSTED_PROXY_COUNT > 0 and not TRUSTED_PROXY_NETWORKS:
    raise ImproperlyConfigured(
        "设置了 TRUSTED_PROXY_COUNT 时必须用 TRUSTED_PROXY_NETWORKS 写明代理所在的网段 / "
        "TRUSTED_PROXY_COUNT needs TRUSTED_PROXY_NETWORKS: the networks the proxies connect from"
    )

AXES_CLIENT_IP_CALLABLE = "certportal.client.client_subscriber"  # IPv6 by its /64
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
# By account only: an address has its own, larger budget (applicants.throttle), so that one
# office's typos do not lock everyone behind its address out of every account.
AXES_LOCKOUT_PARAMETERS = ["username"]
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
# axes.W006 asks for "ip_address" among the lockout parameters: the address is limited, by
# applicants.throttle, at a budget of its own (by the client address, not a user agent).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_CALLABLE = "applicants.backends.login_name_for_throttling"
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "login",
    "password",
    "password1",
    "password2",
    "id_number",
]
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "applicants.validators.IdNumberPasswordValidator"},
    {"NAME": "applicants.validators.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/me/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language is the visitor's choice on the switch alone (certportal.middleware's
# LocaleMiddleware): kept for a year, not forgotten when the browser closes.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Written to a temporary name and renamed into place: a crash never leaves half a file.
    "default": {"BACKEND": "certportal.storage.AtomicFileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Private files (uploads, PDFs). Never served under a public URL: only through views that
# check permission, so there is deliberately no MEDIA_URL route.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/private-media-not-served/"
FILE_UPLOAD_PERMISSIONS = 0o600
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

CERT_FONT_PATH = env.str("CERT_FONT_PATH", default="")
VERIFY_RATE_LIMIT = env.str("VERIFY_RATE_LIMIT", default="20/m")

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="") or "certportal <noreply@localhost>"
if (
    not DEBUG
    and EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"  # noqa: F821 (EMAIL_URL)
    and DEFAULT_FROM_EMAIL.rstrip(">").endswith("@localhost")
):
    raise ImproperlyConfigured(
        "通过 SMTP 发信时须设置 DEFAULT_FROM_EMAIL（发件地址），否则邮件以 noreply@localhost "
        "发出，多数邮件服务器会拒收 / sending through SMTP needs DEFAULT_FROM_EMAIL"
    )

# Security. Development serves plain HTTP on localhost; production is behind TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

FIXTURE_DIRS = [BASE_DIR / "fixtures"]
REFERENCE_FIXTURES = ["reference", "institutions"]
