FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RECOMAMP_VAR_DIR=/var/lib/recomamp
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --no-input -v0
EXPOSE 8000
CMD ["gunicorn", "recomamp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
