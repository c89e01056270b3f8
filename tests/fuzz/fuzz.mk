# make fuzz: libFuzzer targets (clang). Filled in by the fuzz work.
.PHONY: fuzz
fuzz:
	@echo "no fuzz targets yet"
