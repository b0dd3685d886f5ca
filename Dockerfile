# The bot as one image: `docker build -t hailuo-bot .`; compose.yaml runs it beside PostgreSQL.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY adapters adapters
COPY storage storage
RUN pip install --no-cache-dir .
RUN useradd --system --home /app hailuo
USER hailuo
CMD ["hailuo-bot", "run"]
