# One image for web, worker and beat (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# CJK fonts for the PDF e-certificate: AR PL UMing (Song style), WenQuanYi Micro Hei, and
# HanaMin for rare characters (CJK extensions A and B); poppler for previews.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-arphic-uming fonts-wqy-microhei \
    fonts-hanazono poppler-utils \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY certportal certportal
COPY applicants applicants
COPY exams exams
COPY certificates certificates
COPY renewals renewals
COPY verification verification
RUN pip install -c constraints.txt .
COPY . .

# Static files are collected at build time with throwaway keys and address (production settings
# refuse to start without them; nothing secret is baked in).
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
    PII_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    PII_INDEX_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(40))')" \
    SITE_URL=https://build.invalid \
    DEBUG=false python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 certportal && mkdir -p /data/media && chown certportal /data/media
USER certportal
ENV MEDIA_ROOT=/data/media
EXPOSE 8000
# gunicorn reads gunicorn.conf.py from /app: sync workers, cores + 1, port 8000.
CMD ["gunicorn", "certportal.wsgi:application"]
