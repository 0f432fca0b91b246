# vswitch — one plain Makefile.
#   make          build build/vswitch and build/vport (optimised)
#   make test     install missing packages, build sanitized, run unit, fuzz and netns tests
#   make demo     install missing packages, build, run a virtual LAN in namespaces, clean up
#   make bench    install missing packages, build, measure (see docs/performance.md)
#   make fuzz     run every fuzz target for longer (FUZZ_SECONDS, default 60)
#   make check    static analysis (cppcheck, clang-tidy)
#   make format   clang-format the tree
#   make install  copy the daemons to $(DESTDIR)$(PREFIX)/bin (PREFIX=/usr/local)

VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
CC      ?= cc
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS := $(WARN) $(CFLAGS) -Isrc -DVSWITCH_VERSION='"$(VERSION)"'
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LIBS    := -lsodium -lcrypto -lanl # libanl: getaddrinfo_a before glibc 2.34 (empty after)
TESTLIBS := -lcmocka

ifeq ($(V),1)
Q :=
else
Q := @
endif

MAINS   := src/vswitch.c src/vport.c
LIB_SRC := $(filter-out $(MAINS),$(wildcard src/*.c))
HDRS    := $(wildcard src/*.h)
REL_OBJ := $(LIB_SRC:src/%.c=build/rel/%.o)
SAN_OBJ := $(LIB_SRC:src/%.c=build/san/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=build/tools/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=build/tools/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 60

.PHONY: all test unit netns fuzz fuzz-smoke demo bench check format clean deps tools FORCE install
PREFIX  ?= /usr/local
all: build/vswitch build/vport

# The version is compiled into the daemons' main files: rebuild them when it changes.
build/version.txt: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
build/rel/vswitch.o build/rel/vport.o build/rel/switch_show.o build/rel/port_show.o \
  build/san/vswitch.o build/san/vport.o build/san/switch_show.o build/san/port_show.o: \
  build/version.txt

build/rel/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/san/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC [san] $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -O1 -c -o $@ $<

build/vswitch build/vport: build/%: build/rel/%.o $(REL_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

build/san/vswitch build/san/vport: build/san/%: build/san/%.o $(SAN_OBJ)
	@$(if $(Q),echo "  LD [san] $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $^ $(LIBS)

# test_switch_runs compiles vswitch.c in (it drives the daemon's own receive path).
build/san/test_switch_runs: src/vswitch.c build/version.txt
build/san/test_%: tests/unit/test_%.c $(SAN_OBJ) $(HDRS)
	@$(if $(Q),echo "  LD [san] $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -O1 -o $@ $< $(SAN_OBJ) $(LIBS) $(TESTLIBS)

build/tools/%: tests/tools/%.c $(REL_OBJ) $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(REL_OBJ) $(LIBS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(WARN) -O1 -g -Isrc -DVSWITCH_VERSION='"$(VERSION)"' -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRC) $(LIBS)

deps:
	$(Q)scripts/deps.sh

tools: $(TOOL_BIN)

build/tools/%: bench/%.c $(REL_OBJ) $(HDRS)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(REL_OBJ) $(LIBS)

unit: $(UNIT_BIN)
	$(Q)scripts/run-unit.sh $(UNIT_BIN)

fuzz-smoke: $(FUZZ_BIN)
	$(Q)scripts/run-fuzz.sh 10 $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	$(Q)scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

netns: build/san/vswitch build/san/vport $(TOOL_BIN)
	$(Q)scripts/run-netns.sh build/san

test: deps
	$(Q)$(MAKE) --no-print-directory all build/san/vswitch build/san/vport $(UNIT_BIN) $(FUZZ_BIN) $(TOOL_BIN) $(BENCH_BIN)
	$(Q)UNIT="$(UNIT_BIN)" FUZZ="$(FUZZ_BIN)" scripts/run-all-tests.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh build

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(TOOL_BIN) $(BENCH_BIN)
	$(Q)bench/run.sh build

check:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 -D_GNU_SOURCE -DVSWITCH_VERSION='"check"' -Isrc src
	clang-tidy --quiet src/*.c -- $(WARN) -Isrc -DVSWITCH_VERSION='"check"'

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/fuzz/*.c tests/tools/*.c

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 build/vswitch build/vport $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build
