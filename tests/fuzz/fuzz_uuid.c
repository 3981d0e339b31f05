/* fuzz_uuid — common/uuid.c: pk_uuid_parse on any bytes (it takes a length,
 * so no NUL is appended); what parses formats back to the same text, in
 * lower case. */
#include <ctype.h>
#include <stdlib.h>
#include "common/uuid.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pk_uuid u;
    if (pk_uuid_parse((const char *)data, size, &u) != 0)
        return 0;
    char text[PK_UUID_STR_LEN + 1];
    pk_uuid_format(&u, text);
    if (size != PK_UUID_STR_LEN)
        abort();
    for (size_t i = 0; i < size; i++)
        if (text[i] != tolower(data[i]))
            abort();
    pk_uuid again;
    pk_uuid_from_key(&again, "fuzz", (const char *)data, size);
    return 0;
}
