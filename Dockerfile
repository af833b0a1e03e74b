FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RECOMAMP_VAR_DIR=/var/lib/recomamp
WORKDIR /app
# WeasyPrint (PDF exports) needs Pango and HarfBuzz, and a font to draw text with.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN RECOMAMP_EMBEDDED=1 python manage.py collectstatic --no-input -v0
EXPOSE 8000
CMD ["gunicorn", "recomamp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
