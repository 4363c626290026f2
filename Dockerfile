# The image of the GitHub Action (action.yml: `runs: using: docker, image: Dockerfile`) and of the
# published CI image (GitLab: `entrypoint: [""]`, then `multiarch-manifest push ...`).
#
# Base image: BASE is a tag by default because the digest cannot be known when this file is written, and a
# stale digest would silently keep an unpatched base. .github/workflows/release.yml resolves the tag to
# its current index digest once per release and builds every architecture with
# BASE=python:3.12-slim-bookworm@sha256:<that digest> (recorded in the image's base.* labels), so a
# released image is pinned and reproducible. Builds of `uses: ./` or `uses: org/multiarch-manifest@vN`
# (the runner builds this file itself) use the tag.
ARG BASE=python:3.12-slim-bookworm

FROM ${BASE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Build-time only, never copied into the final image: setuptools builds this project's wheel. Hash-pinned
# like the runtime dependencies (the base image of Python >= 3.12 ships no setuptools).
RUN printf '%s\n' 'setuptools==84.2.1 --hash=sha256:ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2' \
        > /tmp/build.lock \
 && pip install --no-cache-dir --require-hashes --no-deps -r /tmp/build.lock
# The runtime venv has no pip of its own: the base image's pip installs into it (--python).
# --no-deps: requirements.lock lists every runtime module; actions-toolkit without PyGithub (see there).
COPY requirements.lock ./
RUN python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY multiarch_ci ./multiarch_ci
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation -w /tmp/dist . \
 && pip --python /opt/venv/bin/python install --no-cache-dir --no-deps /tmp/dist/*.whl \
 && /opt/venv/bin/multiarch-manifest --version

FROM ${BASE}
LABEL org.opencontainers.image.title="multiarch-manifest" \
      org.opencontainers.image.description="Compose and push multi-arch manifest lists / OCI indexes from per-arch CI builds"
COPY --from=builder /opt/venv /opt/venv
COPY entrypoint.py /app/entrypoint.py
ENV PATH="/opt/venv/bin:${PATH}" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# Runs as root on purpose: GitHub runs Docker actions as root with the workspace and the file-command
# files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) bind-mounted from the host; under another USER the action
# could not write its outputs (GitHub's docs advise against USER in action Dockerfiles). The process
# only talks HTTPS to registries and reads the files it is pointed at.
ENTRYPOINT ["python", "/app/entrypoint.py"]
