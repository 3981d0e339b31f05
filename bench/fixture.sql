-- bench/fixture.sql — the bench's realistic data volume, in one transaction
-- (a second or two instead of the ~25,000 commands it stands for):
--   60 categories (10 roots × 6 children), 1,200 products in the leaves
--   (every 7th discounted, every 25th featured, stock 1,000,000 so checkout
--   never runs out), 3 services of 60 minutes, 200 verified priests, and
--   50 past bookings per priest (10,000) whose customers are the bench's
--   signed-in users (psql variable `customers`, e.g. -v customers='{12,13}'),
--   so their per-user lists are not empty.
-- Rows are written the way the workers write them (the same columns, the
-- payment split of common/money.c, the occupied range of the slot rule,
-- local dates in Asia/Kolkata), but they are not commands: nothing of this
-- is in the journal, and punyaka-replay would not rebuild it. Bench data
-- only — bench/run.sh loads it into its throwaway stack, never elsewhere.
\set ON_ERROR_STOP on
BEGIN;

INSERT INTO categories (parent_id, name, slug, sort_order)
SELECT NULL, 'Bench root ' || r, 'bench-root-' || r, r FROM generate_series(1, 10) r;
INSERT INTO categories (parent_id, name, slug, sort_order)
SELECT c.id, 'Bench ' || r || '.' || k, 'bench-' || r || '-' || k, k
FROM generate_series(1, 10) r JOIN categories c ON c.slug = 'bench-root-' || r CROSS JOIN generate_series(1, 6) k;

WITH leaves AS (SELECT array_agg(id ORDER BY id) AS ids FROM categories WHERE slug LIKE 'bench-%' AND parent_id IS NOT NULL),
     items AS (SELECT i, 5000 + (i * 737) % 200000 AS price FROM generate_series(1, 1200) i)
INSERT INTO products (slug, name, description, product_type, category_id, price_paise, discount_price_paise, stock,
                      is_featured, created_at, updated_at)
SELECT 'bench-product-' || i, 'Bench samagri ' || i, 'Puja item ' || i || ', loaded by bench/fixture.sql.',
       (ARRAY['samagri', 'gift', 'other'])[1 + i % 3], leaves.ids[1 + i % 60], price,
       CASE WHEN i % 7 = 0 THEN price * 9 / 10 END, 1000000, i % 25 = 0, now(), now()
FROM items, leaves;

INSERT INTO services (name, description, service_type, duration_minutes, base_price_paise, created_at, updated_at)
SELECT 'Bench puja ' || s, 'A 60-minute puja for the bench.', 'griha_pravesh', 60, 150000, now(), now()
FROM generate_series(1, 3) s;

INSERT INTO users (username, email, password_hash, first_name, last_name, role, created_at, updated_at)
SELECT 'bench.priest' || i, 'bench.priest' || i || '@example.com', '!', 'Pandit', 'Bench' || i, 'priest', now(), now()
FROM generate_series(1, 200) i;
INSERT INTO priest_profiles (user_id, specializations, languages, experience_years, service_radius_km, bio,
                             is_verified, verified_at, created_at, updated_at)
SELECT u.id, '{Griha Pravesh,Satyanarayan Puja}',
       CASE u.id % 3 WHEN 0 THEN '{Hindi,Sanskrit}' WHEN 1 THEN '{Tamil,Sanskrit}' ELSE '{Telugu,English}' END::text[],
       (u.id % 40)::int, 25, 'Bench priest.', true, now(), now(), now()
FROM users u WHERE u.username LIKE 'bench.priest%';

-- 50 past days per priest at 10:00 local: no two overlap, and no future
-- slot the booking bench asks for is taken. Advance 25 % (375.00 of 1500.00).
WITH c AS (SELECT :'customers'::bigint[] AS ids),
     s AS (SELECT min(id) AS id FROM services WHERE name LIKE 'Bench puja %'),
     slots AS (SELECT p.id AS priest_id, row_number() OVER () AS k, n,
                      (now() AT TIME ZONE 'Asia/Kolkata')::date - n AS d
               FROM priest_profiles p JOIN users u ON u.id = p.user_id AND u.username LIKE 'bench.priest%'
               CROSS JOIN generate_series(1, 50) n),
     b AS (SELECT slots.*, ((d + time '10:00') AT TIME ZONE 'Asia/Kolkata') AS starts_at,
                  CASE WHEN n % 10 = 3 THEN 'cancelled' WHEN n % 4 = 0 THEN 'confirmed' ELSE 'completed' END AS status
           FROM slots)
INSERT INTO bookings (customer_id, priest_id, service_id, booking_date, booking_time, starts_at, occupied,
                      location_address, status, payment_status, service_price_paise, advance_paise, balance_paise,
                      created_at, updated_at)
SELECT c.ids[1 + b.k % array_length(c.ids, 1)], b.priest_id, s.id, b.d, time '10:00', b.starts_at,
       tstzrange(b.starts_at, b.starts_at + interval '75 minutes', '[)'), '12 Temple Road, Pune', b.status,
       CASE b.status WHEN 'cancelled' THEN 'refunded' WHEN 'completed' THEN 'full' ELSE 'partial' END,
       150000, 37500, 112500, b.starts_at - interval '3 days', b.starts_at
FROM b, c, s;

COMMIT;
ANALYZE;
