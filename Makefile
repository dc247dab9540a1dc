# ganbook: one entry point.
#   make chapter1 && ./chapter1     build and run a chapter
#   make test                       the whole unit-test suite (solutions)
#   make grade [SRC=exercises] [ONLY=0.3]  grade the exercises: Score x/y
#   make bench                      speed against the yardsticks
#   make data                       fetch MNIST / Fashion-MNIST
#   make plots                      re-render every run's plots
#   make clean
# Knobs: SRC=solutions|exercises (which copy of the exercise functions is
# compiled in), CUDA=0|1, DEBUG=1 (-g, address and undefined sanitizers),
# CC=gcc|clang.

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
SRC ?= solutions
DEBUG ?= 0

ifneq ($(SRC),solutions)
ifneq ($(SRC),exercises)
$(error SRC must be solutions or exercises (got '$(SRC)'))
endif
endif

# The chapters: chapters/chNN_topic/main.c -> ./chapterN
CHAPTER_DIRS := $(sort $(dir $(wildcard chapters/ch*/main.c)))
chapter_num = $(patsubst 0%,%,$(patsubst ch%,%,$(firstword $(subst _, ,$(notdir $(patsubst %/,%,$(1)))))))
CHAPTERS := $(foreach d,$(CHAPTER_DIRS),chapter$(call chapter_num,$(d)))

all: cuda-note $(CHAPTERS)

# Objects of another compiler go to their own build dir (build/solutions-clang),
# so `make CC=clang` after a gcc build really recompiles.
CC_TAG := $(if $(filter gcc,$(notdir $(CC))),,-$(notdir $(CC)))

# --- flags -------------------------------------------------------------------
WARN := -Wall -Wextra
ifeq ($(DEBUG),1)
OPT := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
VARIANT := debug-$(SRC)$(CC_TAG)
else
# -fno-math-errno: sqrtf and friends need not set errno (nothing here reads
# it), so loops that call them vectorize: Adam's update (exercise 0.4) runs
# 16 lanes at a time instead of one, with bit-identical results.
OPT := -O3 -march=native -fno-math-errno
VARIANT := $(SRC)$(CC_TAG)
endif

# OpenMP when the compiler has it (clang may lack libomp).
HAVE_OMP := $(shell printf 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_OMP),1)
OMP := -fopenmp
else
OMP :=
endif

CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) $(OMP) -Icommon -Ichapters
LDLIBS := -lm

# --- CUDA detection -----------------------------------------------------------
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifeq ($(origin CUDA),undefined)
CUDA := $(if $(NVCC),1,0)
endif
CUDA_SOURCES := $(wildcard cuda/*.cu)
ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but nvcc was not found; install the CUDA toolkit or build with CUDA=0)
endif
ifeq ($(CUDA_SOURCES),)
CUDA_NOTE := nvcc: found at $(NVCC), but cuda/ has no kernels yet: building CPU only
CUDA := 0
else
CUDA_NOTE := nvcc: found at $(NVCC): building with CUDA
endif
else
CUDA_NOTE := $(if $(NVCC),nvcc: found but CUDA=0: building CPU only,nvcc: not found: building CPU only)
endif

# --- the library --------------------------------------------------------------
BUILD ?= build/$(VARIANT)
LIB_SRCS := $(wildcard common/*.c) $(wildcard $(SRC)/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB := $(BUILD)/libganbook.a

# Every object depends on the exact compile command, kept in a stamp file
# that changes only when the command does: a new flag in this Makefile (or
# another CC) rebuilds everything instead of silently mixing objects built
# two ways (an old object without -fno-math-errno once made Adam 40% slower).
FLAGS_STAMP := $(BUILD)/compile-command
$(shell mkdir -p $(BUILD) && { echo '$(CC) $(CFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(CC) $(CFLAGS)' >$(FLAGS_STAMP); })

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

-include $(LIB_OBJS:.o=.d)

.PHONY: all test grade run-grader bench data plots clean cuda-note lib

cuda-note:
	@echo "$(CUDA_NOTE)"

lib: $(LIB)

# --- chapters ----------------------------------------------------------------------
# Each chapter is linked in the build dir of its variant (SRC, DEBUG) and
# copied to the root every time, so switching SRC=exercises/solutions always
# gives ./chapterN built from the copy asked for.
# The chapter's other .c files (chapters/ch03_dcgan/student_ops.c) are
# compiled like the library's and linked in beside main.c.
chapter_objs = $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(1)main.c,$(wildcard $(1)*.c)))
define chapter_rule
$(BUILD)/chapter$(call chapter_num,$(1)): $(1)main.c $(call chapter_objs,$(1)) $(LIB)
	$$(CC) $$(CFLAGS) -MMD -MP $(1)main.c $(call chapter_objs,$(1)) $(LIB) $$(LDLIBS) -o $$@
-include $(BUILD)/chapter$(call chapter_num,$(1)).d $(patsubst %.o,%.d,$(call chapter_objs,$(1)))
chapter$(call chapter_num,$(1)): $(BUILD)/chapter$(call chapter_num,$(1)) | cuda-note
	@cp $$< $$@.tmp && mv -f $$@.tmp $$@
endef
.PHONY: $(CHAPTERS)
$(foreach d,$(CHAPTER_DIRS),$(eval $(call chapter_rule,$(d))))

# --- tests: tests/test_*.c, each its own program --------------------------------
TEST_SRCS ?= $(wildcard tests/test_*.c)
TEST_SCRIPTS ?= $(wildcard tests/test_*.sh)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_COMMON := $(wildcard tests/support/*.c)

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/support -MMD -MP $< $(TEST_COMMON) $(LIB) $(LDLIBS) -o $@

-include $(TEST_BINS:=.d)

test: cuda-note $(TEST_BINS) $(CHAPTERS)
	@BUILD=$(BUILD) CC="$(CC)" bash tests/run_tests.sh $(TEST_BINS) $(TEST_SCRIPTS)

# --- grader -----------------------------------------------------------------------
# Grades exercises/ unless SRC is given on the command line.
GRADE_SRC := $(if $(filter command line,$(origin SRC)),$(SRC),exercises)
grade:
	@$(MAKE) --no-print-directory -s SRC=$(GRADE_SRC) run-grader

run-grader: $(BUILD)/grader
	@$(BUILD)/grader $(ONLY)

$(BUILD)/grader: $(wildcard tests/grader/*.c) $(wildcard tests/grader/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/grader $(wildcard tests/grader/*.c) $(LIB) $(LDLIBS) -o $@

# --- bench --------------------------------------------------------------------------
BENCH_SRCS := $(wildcard bench/*.c)
bench: cuda-note $(LIB)
	@BUILD=$(BUILD) CC="$(CC)" CFLAGS="$(CFLAGS)" LIB="$(LIB)" bash bench/run_bench.sh

data:
	@bash datasets/fetch.sh all

plots:
	@bash plots/render_all.sh

clean:
	rm -rf build chapter[0-9] chapter[0-9][0-9] train_classifier

# --- chapters 1-2: the toy evaluation table and the README figures ------------------
.PHONY: eval-toys figures
eval-toys: chapter1 chapter2
	@bash chapters/eval_toys.sh

figures: chapter1 chapter2 chapter3
	@bash chapters/make_figures.sh

# --- chapter 3: the table of convolution kernels (naive, tiled, gemm, yours) ---------
.PHONY: conv-table
conv-table: chapter3
	@bash chapters/conv_table.sh

# --- the evaluation classifier (common/eval_mnist.h, tools/train_classifier.c) ---
# make classifier [DATASET=mnist|fashion]: trains it once into
# datasets/data/<name>/classifier.bin; later calls find it valid and only
# print its calibration table. ./train_classifier --dataset NAME --force retrains.
DATASET ?= mnist
$(BUILD)/train_classifier: tools/train_classifier.c $(LIB)
	$(CC) $(CFLAGS) -MMD -MP tools/train_classifier.c $(LIB) $(LDLIBS) -o $@
-include $(BUILD)/train_classifier.d
train_classifier: $(BUILD)/train_classifier
	@cp $< $@.tmp && mv -f $@.tmp $@
classifier: train_classifier
	./train_classifier --dataset $(DATASET)
.PHONY: classifier train_classifier

# --- ch6: chapter 6's figures, and the image scoreboard of chapters 3-6 ---------------
# make eval-images [EVAL_CHAPTERS="3 6"] [EXTRA="--steps 20"]: trains the image
# chapters on MNIST, one table (chapters/eval_images.sh says how long).
# make figures-ch6: the default runs behind chapter 6's README pictures.
.PHONY: eval-images figures-ch6
eval-images: $(filter chapter3 chapter4 chapter5 chapter6,$(CHAPTERS))
	@EVAL_CHAPTERS="$(or $(EVAL_CHAPTERS),3 4 5 6)" EXTRA="$(EXTRA)" bash chapters/eval_images.sh
figures-ch6: chapter6
	@bash chapters/ch06_conditional_gan/figures.sh
