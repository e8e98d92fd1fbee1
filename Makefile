# cityos build.  `make` builds build/cityos; `make test-unit` the cmocka
# tests under AddressSanitizer and UndefinedBehaviorSanitizer; `make fuzz`
# the libFuzzer targets (clang).  See docs/architecture.md.

CC      ?= cc
PKGS    := libmicrohttpd sqlite3 libpq libsodium jansson openssl libcurl libqrencode
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_FORTIFY_SOURCE=2 -fstack-protector-strong -Isrc -Ibuild $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lpthread -lm

SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC := $(sort $(wildcard src/core/*.c) $(filter-out src/main.c,$(wildcard src/*/*.c)))
EMBED_IN := $(sort $(shell find templates static messages migrations data -type f -not -name '.*' 2>/dev/null))
TESTS   := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))

OBJ      := $(patsubst %.c,build/obj/%.o,$(LIB_SRC)) build/obj/embedded.o
ASAN_OBJ := $(patsubst %.c,build/asan/%.o,$(LIB_SRC)) build/asan/embedded.o

.PHONY: all asan test-unit fuzz clean style style-check
all: build/cityos

build/embed: tools/embed.c
	@mkdir -p build
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< $(shell pkg-config --cflags --libs openssl)

build/embedded.c: build/embed $(EMBED_IN)
	build/embed $(EMBED_IN) > $@.tmp && mv $@.tmp $@

build/obj/embedded.o: build/embedded.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -Isrc -c -o $@ $<

build/asan/embedded.o: build/embedded.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -Isrc -c -o $@ $<

build/obj/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

build/cityos: $(OBJ) build/obj/src/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

asan: build/asan/cityos
build/asan/cityos: $(ASAN_OBJ) build/asan/src/main.o
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/testlib.c $(ASAN_OBJ)
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $^ $(LDLIBS) -lcmocka

# Every test binary runs even when an earlier one fails; the target fails
# at the end, naming the failures.
test-unit: $(addprefix build/tests/,$(TESTS))
	@failed=""; for t in $^; do echo "== $$t"; $$t || failed="$$failed $$t"; done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

# bench/booking's load driver (optimised objects): the core without the
# commands (cli.c and demo.c, which call every service) and the booking
# engine, so services being written cannot break it.
BENCH_OBJ := $(filter-out build/obj/src/core/cli.o build/obj/src/core/demo.o,$(filter build/obj/src/core/% build/obj/src/booking/%,$(OBJ))) build/obj/embedded.o
build/bench/booking_load: bench/booking_load.c $(BENCH_OBJ)
	@mkdir -p build/bench
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# libFuzzer targets: clang, ASan + UBSan; each links the library objects
# built with clang.
FUZZ_CC := clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Isrc -Ibuild $(PKG_CFLAGS) -std=gnu11
FUZZ_OBJ := $(patsubst %.c,build/fuzzobj/%.o,$(LIB_SRC)) build/fuzzobj/embedded.o
build/fuzzobj/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
build/fuzzobj/embedded.o: build/embedded.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -O1 -Isrc -c -o $@ $<
build/fuzz/%: fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
fuzz: $(addprefix build/fuzz/,$(FUZZERS))

STYLE_SRC = $(wildcard src/*.c src/*/*.c src/*/*.h tests/unit/*.c fuzz/*.c tools/*.c)
style:
	clang-format -i $(STYLE_SRC)
style-check:
	clang-format --dry-run -Werror $(STYLE_SRC)

clean:
	rm -rf build

# Keep objects between links (make would otherwise delete them as
# intermediate files and rebuild everything each time).
.SECONDARY: $(OBJ) $(ASAN_OBJ) $(FUZZ_OBJ)
