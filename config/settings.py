"""Django settings, all from the environment (see config/environment.py and docs/configuration.md)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from config.environment import read_environment

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = read_environment(os.environ, base_dir=BASE_DIR)

TENDERHALL_MODE = ENV.mode
TENDERHALL_DATA_DIR = ENV.data_dir
TENDERHALL_TRUSTED_CA_FILES = ENV.trusted_ca_files
TENDERHALL_DEMO_CA = ENV.demo_ca
TENDERHALL_ESCROW_CA_FILE = ENV.escrow_ca_file
TENDERHALL_LEDGER_ORIGIN = ENV.ledger_origin
# The transparency log (docs/ledger.md). Key files default to DATA_DIR/ledger/.
TENDERHALL_LEDGER_KEY_FILE = os.environ.get("TENDERHALL_LEDGER_KEY_FILE") or None
TENDERHALL_WITNESS_KEY_FILE = os.environ.get("TENDERHALL_WITNESS_KEY_FILE") or None
TENDERHALL_WITNESS_NAME = os.environ.get("TENDERHALL_WITNESS_NAME") or None
TENDERHALL_LEDGER_CHECKPOINT_INTERVAL = float(os.environ.get("TENDERHALL_LEDGER_CHECKPOINT_INTERVAL", "2"))
TENDERHALL_LEDGER_WITNESS_QUORUM = int(os.environ.get("TENDERHALL_LEDGER_WITNESS_QUORUM", "0"))
TENDERHALL_LEDGER_WITNESS_TIMEOUT = float(os.environ.get("TENDERHALL_LEDGER_WITNESS_TIMEOUT", "5"))
TENDERHALL_LEDGER_MAX_LEAVES_PER_CHECKPOINT = int(
    os.environ.get("TENDERHALL_LEDGER_MAX_LEAVES_PER_CHECKPOINT", "100000")
)
# Accounts: lockout after repeated failures (see tenderhall/accounts/rules.py).
TENDERHALL_LOCKOUT_THRESHOLD = 5
TENDERHALL_LOCKOUT_MINUTES = 15
# Supervision: the change feed's watermark and webhook deliveries (docs/data-feeds.md).
TENDERHALL_FEED_WATERMARK_SECONDS = float(os.environ.get("TENDERHALL_FEED_WATERMARK_SECONDS", "2"))
TENDERHALL_WEBHOOK_TIMEOUT = float(os.environ.get("TENDERHALL_WEBHOOK_TIMEOUT", "5"))
TENDERHALL_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("TENDERHALL_WEBHOOK_MAX_ATTEMPTS", "8"))
TENDERHALL_WEBHOOK_FIRST_RETRY_SECONDS = float(os.environ.get("TENDERHALL_WEBHOOK_FIRST_RETRY_SECONDS", "30"))
# Receivers on private addresses: allowed in embedded mode, refused in production unless set to 1.
TENDERHALL_WEBHOOK_PRIVATE_ADDRESSES = (
    os.environ["TENDERHALL_WEBHOOK_PRIVATE_ADDRESSES"] == "1"
    if "TENDERHALL_WEBHOOK_PRIVATE_ADDRESSES" in os.environ
    else None
)

SECRET_KEY = ENV.secret_key
DEBUG = ENV.debug
ALLOWED_HOSTS = list(ENV.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "template_partials",
    "tenderhall.core",
    "tenderhall.ledger",
    "tenderhall.accounts",
    "tenderhall.registry",
    "tenderhall.procedures",
    "tenderhall.bids",
    "tenderhall.opening",
    "tenderhall.evaluation",
    "tenderhall.supervision",
    "tenderhall.exchange",
    "tenderhall.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenderhall.core.middleware.security_headers",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "tenderhall.core.middleware.api_language",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenderhall.core.middleware.audit_context",
    "tenderhall.accounts.client_middleware.api_client_access_log",
    "tenderhall.accounts.middleware.require_two_factor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
# Views whose request body goes from the server straight to where it belongs, not spooled first
# (tenderhall.core.asgi): URL name -> the factory of its receiver.
# The largest request body any request may send (tenderhall.core.asgi, under `tenderhall serve`): a tender
# document or a sealed envelope of 200 MB with its form around it; anything larger is 413 request_too_large.
TENDERHALL_MAX_REQUEST_BYTES = int(os.environ.get("TENDERHALL_MAX_REQUEST_BYTES", str(210 * 1024 * 1024)))
TENDERHALL_BODY_RECEIVERS = {
    "api:bid_submit_envelope": "tenderhall.bids.uploads.envelope_arrival_begin",
    "api:bid_submit": "tenderhall.bids.uploads.form_arrival_begin",
}
WSGI_APPLICATION = "config.wsgi.application"

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
                "tenderhall.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(ENV.database_url, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A connection pool per process: under ASGI every request runs in a thread of its own, and connections
    # kept per thread (CONN_MAX_AGE) exhaust the server's max_connections under a deadline rush; pooled
    # requests wait up to `timeout` seconds for a connection instead of failing (docs/configuration.md).
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": 2,
            "max_size": int(os.environ.get("TENDERHALL_DB_POOL_SIZE", "20")),
            "timeout": float(os.environ.get("TENDERHALL_DB_POOL_TIMEOUT", "60")),
        }
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:home"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "tenderhall" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = ENV.data_dir / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # collectstatic fills it in production; served by WhiteNoise
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": ENV.data_dir / "files"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Cookies and transport security. HSTS and secure cookies only when served over HTTPS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = ENV.https
CSRF_COOKIE_SECURE = ENV.https
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if ENV.https:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if host and host != "*"]
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"tenderhall": {"level": "INFO"}},
}
