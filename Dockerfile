# The container image is built in a later step; see deploy/.
FROM debian:bookworm-slim
