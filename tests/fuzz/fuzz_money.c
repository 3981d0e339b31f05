/* fuzz_money — common/money.c: money_parse on any bytes; whatever parses
 * formats back to text that parses to the same amount. */
#include <stdlib.h>
#include "common/money.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t paise = -1;
    money_err e = money_parse((const char *)data, size, &paise);
    (void)money_strerror(e);
    if (e != MONEY_OK)
        return 0;
    if (paise < 0 || paise > MONEY_MAX_PAISE)
        abort();
    char buf[MONEY_FMT_CAP];
    size_t n = money_format(paise, buf, sizeof(buf));
    int64_t again = -1;
    if (money_parse(buf, n, &again) != MONEY_OK || again != paise)
        abort();
    int64_t advance, balance;
    money_split(paise, &advance, &balance);
    if (advance + balance != paise)
        abort();
    return 0;
}
