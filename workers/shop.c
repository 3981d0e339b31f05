/* shop.c — helpers of the shop families (shop.h): stock movements, UTF-8 trimming, array literals. */
#include "workers/shop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/mp.h"
#include "common/validate.h"

/* The new movements' ids in product order (the ORDER BY of the insert),
 * which is also the order a replay hands the recorded ids out in. */
static void record_movements(PGresult *r, wk_outcome *out)
{
    int n = PQntuples(r);
    int64_t *ids = malloc(((size_t)n + 1) * sizeof(*ids)), *products = malloc(((size_t)n + 1) * sizeof(*products));
    for (int i = 0; i < n; i++) {
        int64_t id = wf_col_i64(r, i, 0), product = wf_col_i64(r, i, 1);
        int j = i;
        for (; j > 0 && products[j - 1] > product; j--) {
            ids[j] = ids[j - 1];
            products[j] = products[j - 1];
        }
        ids[j] = id;
        products[j] = product;
    }
    for (int i = 0; i < n; i++)
        wk_created_append(out, "stock_movements", ids[i]);
    free(ids);
    free(products);
}

/* The products_stock_nonnegative CHECK refused the decrement: a business
 * answer (out of stock), not a database failure. */
static bool stock_check_fired(const PGresult *r)
{
    const char *constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    return wk_sqlstate_is(r, "23514") && constraint && strcmp(constraint, "products_stock_nonnegative") == 0;
}

wk_result wk_stock_apply(wk_ctx *ctx, const int64_t *product_ids, const int64_t *deltas, size_t n, const char *reason,
                         int64_t order_id, const pk_envelope_decoded *cmd, wk_outcome *out, bool *short_of_stock)
{
    char ts[40], command_id[40], order[24];
    wk_timestamp(cmd->env.issued_at_us, ts);
    wf_command_id(cmd, command_id);
    wf_itoa(order_id, order);
    size_t moved = 0;
    for (size_t i = 0; i < n; i++)
        moved += deltas[i] != 0;
    char *ids = wk_int_array(product_ids, n), *ds = wk_int_array(deltas, n);
    char *replay = wk_new_ids(ctx, out, "stock_movements", moved);
    const char *params[] = {ids, ds, ts, reason, command_id, order_id > 0 ? order : NULL, replay};
    /* updated_at never moves backwards: commands of different partitions
     * may carry issued_at out of order, and readers derive ETags from it. */
    PGresult *r = wk_exec(ctx,
                          "WITH d AS (SELECT id, delta, row_number() OVER (ORDER BY id) AS ord"
                          "   FROM unnest($1::bigint[], $2::int[]) AS d(id, delta) WHERE delta <> 0),"
                          " u AS (UPDATE products p SET stock = p.stock + d.delta,"
                          "   updated_at = greatest(p.updated_at, $3::timestamptz) FROM d WHERE p.id = d.id)"
                          " INSERT INTO stock_movements (id, product_id, delta, reason, command_id, created_at,"
                          "   order_id)"
                          " SELECT " WK_NEW_IDS("$7", "ord", "stock_movements") ", id, delta, $4, $5::uuid,"
                          "   $3::timestamptz, $6::bigint FROM d ORDER BY ord"
                          " RETURNING id, product_id",
                          7, params);
    free(ids);
    free(ds);
    free(replay);
    *short_of_stock = stock_check_fired(r);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && !*short_of_stock)
        return wk_db_failure(ctx, r, "stock movement");
    if (!*short_of_stock)
        record_movements(r, out);
    PQclear(r);
    return WK_DONE;
}

void wk_utf8_trim(char *s)
{
    size_t n = strlen(s), start = n;
    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80 && n - start < 3)
        start--;
    if (start > 0 && ((unsigned char)s[start - 1] & 0x80))
        start--;   /* the lead byte of the last sequence */
    else
        return;    /* ends in ASCII */
    if (wf_utf8_len((const unsigned char *)s + start, n - start) != n - start)
        s[start] = 0;
}

char *wk_int_array(const int64_t *values, size_t n)
{
    char *s = malloc(n * 21 + 3), *p = s;
    *p++ = '{';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%lld", i ? "," : "", (long long)values[i]);
    *p++ = '}';
    *p = 0;
    return s;
}
