# fuzz targets: see tests/fuzz/README (written by the fuzz work)
