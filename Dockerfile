# Stoke: the stoke command (standalone master, worker, submit) and the
# example applications, on a small Debian image.
#
#   docker build -t stoke .
#   docker compose --profile standalone up     # a master and two workers
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/stoke ./cmd/stoke \
 && CGO_ENABLED=0 go build -trimpath -o /out/wordcount ./examples/wordcount \
 && CGO_ENABLED=0 go build -trimpath -o /out/pi ./examples/pi

FROM debian:bookworm-slim
RUN useradd --create-home --uid 1000 stoke \
 && mkdir -p /var/lib/stoke/work /etc/stoke && chown -R stoke /var/lib/stoke /etc/stoke \
 && chmod 700 /etc/stoke
COPY --from=build /out/ /usr/local/bin/
COPY examples/wordcount/sample.txt /opt/stoke/examples/sample.txt
USER stoke
WORKDIR /var/lib/stoke
ENV STOKE_WORKER_DIR=/var/lib/stoke/work
# /etc/stoke holds the cluster secret (compose mounts a volume there).
# 7077: master API; 8080: master UI; 8081: worker UI and executor logs.
EXPOSE 7077 8080 8081
ENTRYPOINT ["stoke"]
CMD ["--help"]
