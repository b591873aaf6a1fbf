# syntax=docker/dockerfile:1

# Build stage: wheels of the exporter and of every dependency, so that the runtime
# stage needs neither a compiler nor a package index.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter/ exporter/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: the installed package, a fixed non-root user and a state volume.
FROM python:3.12-slim
LABEL org.opencontainers.image.title="status-page-exporter" \
      org.opencontainers.image.description="Prometheus exporter for vendors' status pages" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATUS_PAGE_EXPORTER_CONFIG_FILE=/etc/status-page-exporter/providers.yaml \
    STATUS_PAGE_EXPORTER_STATE_PATH=/var/lib/status-page-exporter/state.db \
    STATUS_PAGE_EXPORTER_EVENTS_FILE=-
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels status-page-exporter \
 && groupadd --system --gid 10001 exporter \
 && useradd --system --uid 10001 --gid exporter --no-create-home \
      --home-dir /var/lib/status-page-exporter --shell /usr/sbin/nologin exporter \
 && install -d -o exporter -g exporter -m 0750 /var/lib/status-page-exporter
# The catalogue shipped with the package; mount your own file over this path.
COPY exporter/providers.yaml /etc/status-page-exporter/providers.yaml
USER 10001:10001
WORKDIR /var/lib/status-page-exporter
VOLUME ["/var/lib/status-page-exporter"]
EXPOSE 9747
# The slim image has no curl; Python's urllib fails on anything but a 2xx answer.
# The check asks the address the exporter listens on: the variable when it is set,
# else the default of --web.listen-address, with a wildcard host read as loopback.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host, _, port = os.environ.get('STATUS_PAGE_EXPORTER_WEB_LISTEN_ADDRESS', ':9747').rpartition(':'); host = host.strip('[]') or '127.0.0.1'; host = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(host, host); host = f'[{host}]' if ':' in host else host; urllib.request.urlopen(f'http://{host}:{port}/-/healthy', timeout=4)"]
ENTRYPOINT ["status-page-exporter"]
CMD ["serve"]
