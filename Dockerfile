# One image per node, FROM scratch, from the static binaries `make build` puts in bin/:
#   docker build --build-arg NODE=hss -t imscore/hss .     (or: make images)
FROM scratch
ARG NODE
COPY bin/${NODE} /node
WORKDIR /var/lib/ims
ENTRYPOINT ["/node"]
