# The notebooks in a container, for machines TFF has no wheel for (macOS, Windows without WSL2, Linux on arm64).
# Build and run from the repository root (README.md, "Which machine"):
#   docker build --platform linux/amd64 -t fl-tutorials .
#   docker run --rm -it --platform linux/amd64 -p 127.0.0.1:8888:8888 fl-tutorials
# Debian bookworm's python3 is 3.11, the newest Python TFF 0.87 supports; uv builds the locked environment once,
# at build time, so that starting the container downloads nothing.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates util-linux \
 && rm -rf /var/lib/apt/lists/*
# pip and uv trust the system's certificates, so that a company proxy's CA added to the base image works too.
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --cert /etc/ssl/certs/ca-certificates.crt uv==0.13.9 \
 && ln -s /opt/uv/bin/uv /usr/local/bin/uv
# Never root: TFF's worker runs any TensorFlow graph it is sent.
RUN useradd --create-home --uid 1000 learner && install -d -o learner -g learner /opt/fl-venv
USER learner
WORKDIR /home/learner/fl-tutorials
# The environment lives outside the project, so that a dev container's copy of the repository uses it too. It is
# compiled at build time (UV_COMPILE_BYTECODE): a `docker run --rm` container starts with nothing compiled, and its
# first import of TFF would otherwise compile TensorFlow's and TFF's modules again (13.8 s against 5.3 s here,
# benchmarks section 8).
ENV UV_PROJECT_ENVIRONMENT=/opt/fl-venv UV_PYTHON=/usr/bin/python3.11 UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy UV_NO_CACHE=1 UV_NATIVE_TLS=1 UV_COMPILE_BYTECODE=1 FL_CONTAINER=learner
COPY --chown=learner:learner pyproject.toml uv.lock ./
RUN uv sync --locked --no-install-project
COPY --chown=learner:learner . .
RUN uv sync --locked
EXPOSE 8888
# Inside the container Jupyter must listen on the container's interface for -p to reach it; the run command
# publishes it on the host's 127.0.0.1 only, and Jupyter's token stays on (it is printed in the log).
CMD ["uv", "run", "--locked", "jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
