/* shapes.h — how every resource is shown, defined once (issue 12).
 *
 * A resource's JSON is built by PostgreSQL (json_build_object) from these
 * SQL fragments, and two processes use the same fragment:
 *   - the API's reads (GET one, GET a page, in api/), which copy the text
 *     to the wire, and
 *   - the worker's outcome (workers/resource.c), whose `resource` is what a
 *     write answers with (201/200, GET /api/commands/{id}).
 * So a field added here appears in the GET and in the command's answer by
 * construction; tests/it/it_render.c compares the two for every resource.
 * The public contract of each shape is schemas/openapi.yaml.
 *
 * Conventions of every shape:
 *   - times are ISO 8601 in UTC with microseconds (PK_SQL_TIMESTAMP);
 *   - money is a decimal string, "1500.00" (PK_SQL_MONEY), never a number;
 *   - numerics that are not money (ratings, coordinates) are strings too,
 *     so no client parses them as floats;
 *   - a missing value is JSON null, never "".
 * The macros expand to an SQL expression of type json (PK_PRODUCT_JSON:
 * jsonb); callers add "::text". Arguments are table aliases, pasted in as
 * string literals: only ever pass a literal alias, never data.
 *
 * json_build_object takes at most 100 arguments (50 fields): the booking
 * has 32; nest an object rather than growing past the limit. */
#ifndef PUNYAKA_SHAPES_H
#define PUNYAKA_SHAPES_H

#include "common/schedule_rules.h"

/* ---- values ---- */

/* A timestamptz column: "2026-12-01T04:00:00.000000Z" (the worker's
 * wk_timestamp() prints the same form). NULL stays NULL. */
#define PK_SQL_TIMESTAMP(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Paise (bigint) ⇒ "1500.00" (exact: numeric). NULL stays NULL. */
#define PK_SQL_MONEY(col) "((" col ")::numeric / 100)::numeric(20,2)::text"

/* "First Last", or the username when both are empty: users row u. */
#define PK_SQL_DISPLAY_NAME(u) \
    "coalesce(nullif(btrim(" u ".first_name || ' ' || " u ".last_name), ''), " u ".username)"

/* ---- service (alias s) ---- */

#define PK_SERVICE_JSON(s)                                                                                    \
    "json_build_object('id', " s ".id, 'name', " s ".name, 'description', " s ".description,"                 \
    " 'service_type', " s ".service_type, 'duration_minutes', " s ".duration_minutes,"                        \
    " 'base_price', " PK_SQL_MONEY(s ".base_price_paise") ", 'price', " PK_SQL_MONEY(s ".base_price_paise") "," \
    " 'is_active', " s ".is_active,"                                                                          \
    " 'created_at', " PK_SQL_TIMESTAMP(s ".created_at") ", 'updated_at', " PK_SQL_TIMESTAMP(s ".updated_at") ")"

/* ---- booking (schemas/commands/bookings.md "Booking resource") ---- */

/* Rows b (booking), s (service), p (priest profile), pu (priest's user),
 * cu (customer): use with PK_BOOKING_FROM. */
#define PK_BOOKING_JSON                                                                                       \
    "json_build_object('id', b.id, 'customer', b.customer_id, 'priest', b.priest_id, 'service', b.service_id," \
    " 'booking_date', to_char(b.booking_date, 'YYYY-MM-DD'), 'booking_time', to_char(b.booking_time, 'HH24:MI'),"\
    " 'status', b.status, 'payment_status', b.payment_status,"                                                 \
    " 'service_price', " PK_SQL_MONEY("b.service_price_paise") ","                                             \
    " 'advance_payment', " PK_SQL_MONEY("b.advance_paise") ","                                                 \
    " 'balance_payment', " PK_SQL_MONEY("b.balance_paise") ","                                                 \
    " 'dakshina_amount', " PK_SQL_MONEY("b.dakshina_paise") ","                                                \
    " 'rating', b.rating, 'feedback', b.feedback, 'created_at', " PK_SQL_TIMESTAMP("b.created_at") ","         \
    " 'updated_at', " PK_SQL_TIMESTAMP("b.updated_at") ", 'starts_at', " PK_SQL_TIMESTAMP("b.starts_at") ","   \
    " 'location_address', b.location_address, 'location_latitude', b.location_latitude::text,"                \
    " 'location_longitude', b.location_longitude::text, 'special_instructions', b.special_instructions,"       \
    " 'completion_checklist', b.completion_checklist, 'cancel_reason', b.cancel_reason,"                      \
    " 'cancelled_by', b.cancelled_by, 'confirmed_at', " PK_SQL_TIMESTAMP("b.confirmed_at") ","                 \
    " 'completed_at', " PK_SQL_TIMESTAMP("b.completed_at") ","                                                 \
    " 'customer_confirmed_at', " PK_SQL_TIMESTAMP("b.customer_confirmed_at") ","                               \
    " 'cancelled_at', " PK_SQL_TIMESTAMP("b.cancelled_at") ", 'rated_at', " PK_SQL_TIMESTAMP("b.rated_at") "," \
    " 'service_details', json_build_object('id', s.id, 'name', s.name, 'service_type', s.service_type,"       \
    "  'duration_minutes', s.duration_minutes, 'base_price', " PK_SQL_MONEY("s.base_price_paise") "),"         \
    " 'priest_details', json_build_object('id', p.id, 'user', " PK_SQL_DISPLAY_NAME("pu") ","                 \
    "  'username', pu.username, 'experience_years', p.experience_years, 'is_verified', p.is_verified,"         \
    "  'average_rating', p.average_rating::text, 'total_ratings', p.rating_count),"                            \
    " 'customer_details', json_build_object('id', cu.id, 'username', cu.username,"                            \
    "  'name', " PK_SQL_DISPLAY_NAME("cu") "))"

#define PK_BOOKING_JOINS                                                                                      \
    " JOIN services s ON s.id = b.service_id JOIN priest_profiles p ON p.id = b.priest_id"                   \
    " JOIN users pu ON pu.id = p.user_id JOIN users cu ON cu.id = b.customer_id"
#define PK_BOOKING_FROM " FROM bookings b" PK_BOOKING_JOINS

/* ---- order with its items (alias o; the items are i) ---- */

#define PK_ORDER_JSON                                                                                         \
    "json_build_object('id', o.id, 'order_number', o.order_number, 'user', o.user_id, 'status', o.status,"    \
    " 'payment_status', o.payment_status, 'items', (SELECT coalesce(json_agg(json_build_object("              \
    "  'product', i.product_id, 'product_name', i.product_name, 'quantity', i.quantity,"                       \
    "  'unit_price', " PK_SQL_MONEY("i.unit_price_paise") ", 'line_total', " PK_SQL_MONEY("i.line_total_paise") \
    "  ) ORDER BY i.id), '[]') FROM order_items i WHERE i.order_id = o.id),"                                   \
    " 'subtotal', " PK_SQL_MONEY("o.subtotal_paise") ", 'shipping_charge', " PK_SQL_MONEY("o.shipping_paise") "," \
    " 'total_amount', " PK_SQL_MONEY("o.total_paise") ", 'shipping_address', o.shipping_address,"             \
    " 'shipping_city', o.shipping_city, 'shipping_state', o.shipping_state,"                                 \
    " 'shipping_pincode', o.shipping_pincode, 'shipping_phone', o.shipping_phone,"                           \
    " 'created_at', " PK_SQL_TIMESTAMP("o.created_at") ", 'updated_at', " PK_SQL_TIMESTAMP("o.updated_at") ")"

/* ---- category (alias c) ---- */

#define PK_CATEGORY_JSON(c)                                                                                   \
    "json_build_object('id', " c ".id, 'name', " c ".name, 'slug', " c ".slug,"                              \
    " 'description', " c ".description, 'parent', " c ".parent_id, 'is_active', " c ".is_active,"            \
    " 'sort_order', " c ".sort_order)"

/* ---- product (DESIGN §4 Kits) ---- */

/* The sellable count of products p, as `a.avail`: its stock, or for a kit
 * the minimum over its components of floor(stock / quantity), an inactive
 * component counting as 0, and 0 without components (what
 * shop_kit_available() computes for checkout). Use as
 *   "SELECT … FROM products p" PK_PRODUCT_AVAIL_JOIN " WHERE …". */
#define PK_PRODUCT_AVAIL_JOIN                                                                                  \
    " CROSS JOIN LATERAL (SELECT CASE WHEN p.product_type <> 'kit' THEN p.stock ELSE coalesce((SELECT"         \
    " min(CASE WHEN c.is_active THEN c.stock / kc.quantity ELSE 0 END) FROM kit_components kc"                 \
    " JOIN products c ON c.id = kc.component_id"                                                               \
    " WHERE kc.kit_id = p.id), 0) END AS avail) a"

/* A product row `p` with its sellable count `avail` (an expression, e.g.
 * "a.avail" from PK_PRODUCT_AVAIL_JOIN). jsonb, so `components` exists for
 * kits only (a kit's own stock column is always 0). */
#define PK_PRODUCT_JSON(p, avail)                                                                                \
    "(jsonb_build_object('id', " p ".id, 'slug', " p ".slug, 'name', " p ".name, 'description', " p ".description," \
    " 'product_type', " p ".product_type, 'category', " p ".category_id,"                                        \
    " 'price', " PK_SQL_MONEY(p ".price_paise") ", 'discount_price', " PK_SQL_MONEY(p ".discount_price_paise") "," \
    " 'stock', " avail ", 'is_in_stock', " avail " > 0, 'is_active', " p ".is_active,"                           \
    " 'is_featured', " p ".is_featured, 'image', " p ".image, 'created_at', " PK_SQL_TIMESTAMP(p ".created_at") "," \
    " 'category_name', (SELECT name FROM categories WHERE id = " p ".category_id),"                              \
    " 'effective_price', " PK_SQL_MONEY("coalesce(" p ".discount_price_paise, " p ".price_paise)") ","        \
    " 'updated_at', " PK_SQL_TIMESTAMP(p ".updated_at") ") || CASE WHEN " p ".product_type = 'kit'"              \
    " THEN jsonb_build_object('components', (SELECT coalesce(jsonb_agg(jsonb_build_object('product', kc.component_id," \
    " 'quantity', kc.quantity, 'name', kc_p.name) ORDER BY kc.component_id), '[]') FROM kit_components kc"       \
    " JOIN products kc_p ON kc_p.id = kc.component_id WHERE kc.kit_id = " p ".id)) ELSE '{}'::jsonb END)"

/* ---- priests ---- */

/* The public directory's fields (GET /api/priests/), as the inside of a
 * json_build_object: profile p, user u. Never KYC, notes, e-mail, phone.
 * The seed frontend's shape (issue 15, docs/seed-frontend.md; where it
 * differs from ours, it wins): `user` an object, specializations and
 * languages as comma-separated text with the arrays beside them as *_list;
 * our display name is `name`. The seed's page reads user.phone: the key is
 * there so it renders, but always "" (a public, cached read never carries
 * contact data; DESIGN §5 lists user {id, first_name, last_name}). */
#define PK_PRIEST_PUBLIC_FIELDS(p, u)                                                                          \
    "'id', " p ".id, 'name', " PK_SQL_DISPLAY_NAME(u) ","                                                      \
    " 'user', json_build_object('id', " u ".id, 'first_name', " u ".first_name, 'last_name', " u ".last_name," \
    " 'phone', ''), 'specializations', array_to_string(" p ".specializations, ', '),"                          \
    " 'specializations_list', " p ".specializations, 'languages', array_to_string(" p ".languages, ', '),"    \
    " 'languages_list', " p ".languages, 'experience_years', " p ".experience_years,"                          \
    " 'service_radius_km', " p ".service_radius_km, 'bio', " p ".bio, 'is_verified', " p ".is_verified,"       \
    " 'average_rating', " p ".average_rating::text, 'total_ratings', " p ".rating_count"

/* The priest's own view of their profile (GET /api/auth/me/
 * `priest_profile`, the priest.update_profile outcome): which KYC fields
 * are on file, never what they hold. */
#define PK_PRIEST_OWN_JSON(p)                                                                                   \
    "json_build_object('id', " p ".id, 'user_id', " p ".user_id, 'specializations', " p ".specializations,"     \
    " 'languages', " p ".languages, 'experience_years', " p ".experience_years,"                                \
    " 'service_radius_km', " p ".service_radius_km, 'bio', " p ".bio, 'is_verified', " p ".is_verified,"       \
    " 'verification_notes', " p ".verification_notes,"                                                        \
    " 'average_rating', " p ".average_rating::text, 'total_ratings', " p ".rating_count,"                      \
    " 'kyc_submitted', num_nonnulls(" p ".aadhaar_enc, " p ".pan_enc, " p ".bank_account_enc, " p               \
    ".bank_ifsc_enc) = 4, 'kyc_fields', json_build_object('aadhaar', " p ".aadhaar_enc IS NOT NULL,"           \
    " 'pan', " p ".pan_enc IS NOT NULL, 'bank_account', " p ".bank_account_enc IS NOT NULL,"                   \
    " 'bank_ifsc', " p ".bank_ifsc_enc IS NOT NULL), 'updated_at', " PK_SQL_TIMESTAMP(p ".updated_at") ")"

/* The admin's view (GET /api/admin/priests/ items, the priest.verify
 * outcome), as the inside of a json_build_object: profile p, user u. The
 * list adds `kyc` (masked), which only the API can open. */
#define PK_PRIEST_ADMIN_FIELDS(p, u)                                                                           \
    "'id', " p ".id, 'user_id', " p ".user_id, 'user', " PK_SQL_DISPLAY_NAME(u) ", 'username', " u ".username," \
    " 'email', " u ".email, 'first_name', " u ".first_name, 'last_name', " u ".last_name, 'phone', " u ".phone," \
    " 'specializations', " p ".specializations, 'languages', " p ".languages,"                                 \
    " 'experience_years', " p ".experience_years, 'service_radius_km', " p ".service_radius_km,"               \
    " 'bio', " p ".bio, 'is_verified', " p ".is_verified, 'verification_notes', " p ".verification_notes,"     \
    " 'verified_at', " PK_SQL_TIMESTAMP(p ".verified_at") ", 'verified_by', " p ".verified_by,"                 \
    " 'average_rating', " p ".average_rating::text, 'total_ratings', " p ".rating_count,"                      \
    " 'created_at', " PK_SQL_TIMESTAMP(p ".created_at")
#define PK_PRIEST_ADMIN_JSON(p, u) "json_build_object(" PK_PRIEST_ADMIN_FIELDS(p, u) ")"

/* ---- user (GET /api/auth/me/, login, register, the accounts outcomes) ---- */

/* Users row u, its priest profile p (NULL for others: PK_USER_JOINS). Never
 * the password hash or KYC data. */
#define PK_USER_JSON                                                                                         \
    "json_build_object('id', u.id, 'username', u.username, 'email', u.email, 'first_name', u.first_name,"    \
    " 'last_name', u.last_name, 'role', u.role, 'phone', u.phone, 'address', u.address,"                     \
    " 'date_of_birth', to_char(u.date_of_birth, 'YYYY-MM-DD'), 'time_of_birth', to_char(u.time_of_birth, 'HH24:MI')," \
    " 'place_of_birth', u.place_of_birth, 'is_active', u.is_active,"                                         \
    " 'email_notifications', u.email_notifications,"                                                         \
    " 'created_at', " PK_SQL_TIMESTAMP("u.created_at") ","                                                   \
    " 'priest_profile', CASE WHEN p.id IS NULL THEN NULL ELSE " PK_PRIEST_OWN_JSON("p") " END)"

#define PK_USER_JOINS " LEFT JOIN priest_profiles p ON p.user_id = u.id"

/* ---- a priest's schedule (issue 17; common/schedule_rules.h) ---- */

/* The week of priest profile p (GET/PUT /api/priest/schedule/, the
 * priest.set_hours outcome); s is its priest_schedules row, NULL when the
 * priest never set hours: then the default week and is_default true. */
#define PK_SCHEDULE_JSON(p, s)                                                                                  \
    "json_build_object('priest', " p ".id, 'hours', coalesce(" s ".hours, '" SCHEDULE_DEFAULT_HOURS_JSON "')::json," \
    " 'is_default', " s ".priest_id IS NULL, 'updated_at', " PK_SQL_TIMESTAMP(s ".updated_at") ")"
#define PK_SCHEDULE_FROM " FROM priest_profiles p LEFT JOIN priest_schedules s ON s.priest_id = p.id"

/* One blocked period k (GET/POST /api/priest/blocks/, the priest.block and
 * priest.unblock outcomes). conflicting_bookings: the ids of the priest's
 * pending or confirmed bookings whose occupancy (service + buffer)
 * intersects the block — the ones he must still deal with, since a block
 * never cancels anything — earliest first. */
#define PK_PRIEST_BLOCK_JSON(k)                                                                                 \
    "json_build_object('id', " k ".id, 'priest', " k ".priest_id,"                                              \
    " 'start', " PK_SQL_TIMESTAMP("lower(" k ".period)") ", 'end', " PK_SQL_TIMESTAMP("upper(" k ".period)") ","  \
    " 'reason', " k ".reason, 'created_at', " PK_SQL_TIMESTAMP(k ".created_at") ","                               \
    " 'conflicting_bookings', coalesce((SELECT json_agg(cb.id ORDER BY cb.starts_at, cb.id) FROM bookings cb"    \
    " WHERE cb.priest_id = " k ".priest_id AND cb.status IN ('pending', 'confirmed')"                            \
    " AND cb.occupied && " k ".period), '[]'::json))"
/* ---- notification (alias n; docs/notifications.md) ----
 * entity is {type, id} or null; read is read_at IS NOT NULL. */

#define PK_NOTIFICATION_JSON                                                                                  \
    "json_build_object('id', n.id, 'kind', n.kind, 'title', n.title, 'body', n.body,"                         \
    " 'entity', CASE WHEN n.entity_type IS NULL THEN NULL"                                                    \
    "   ELSE json_build_object('type', n.entity_type, 'id', n.entity_id) END,"                                \
    " 'data', n.data, 'created_at', " PK_SQL_TIMESTAMP("n.created_at") ", 'read', n.read_at IS NOT NULL,"     \
    " 'read_at', " PK_SQL_TIMESTAMP("n.read_at") ")"

#endif
