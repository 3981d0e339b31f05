#!/usr/bin/env python3
"""make_corpus.py — writes the seed corpora of tests/fuzz/corpus/<harness>/.

Seeds are small hand-written valid and near-valid inputs; libFuzzer mutates
them. The files are committed; rerun this after changing a seed here
(python3 tests/fuzz/make_corpus.py). Needs nothing beyond Python 3: msgpack
is packed by the few lines below."""
import hashlib
import json
import os
import re
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def mp(v):
    """msgpack of v: dict, list, str, bytes, int, float, bool, None."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v) if v < 0 or v >= 2**63 - 1 else b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)]) if len(b) < 256
                else b"\xda" + struct.pack(">H", len(b))) + b
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


def write(harness, seeds):
    d = os.path.join(ROOT, harness)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for s in seeds:
        if isinstance(s, str):
            s = s.encode()
        with open(os.path.join(d, hashlib.sha1(s).hexdigest()[:16]), "wb") as f:
            f.write(s)


HASH = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

# The worker command table's order (workers/commands.c): fuzz_command's first byte.
COMMANDS = [
    ("user.register", {"username": "ravi", "email": "ravi@x.io", "password_hash": HASH, "role": "customer",
                       "first_name": "Ravi", "phone": "+91 98765 43210", "date_of_birth": "1990-02-28",
                       "time_of_birth": "06:30"}),
    ("user.update", {"first_name": "Ravi", "last_name": "", "phone": None, "address": "12 MG Road",
                     "email_notifications": False}),
    ("user.change_password", {"password_hash": HASH}),
    ("priest.update_profile", {"specializations": ["Griha Pravesh", "Satyanarayan"], "languages": ["Hindi"],
                               "experience_years": 12, "service_radius_km": 30}),
    ("user.create_admin", {"username": "root", "email": "root@x.io", "password_hash": HASH}),
    ("order.checkout", {"order_items": [{"product_id": 3, "quantity": 2, "unit_price": 15000}],
                        "shipping_address": "12 MG Road", "shipping_city": "Pune", "shipping_state": "MH",
                        "shipping_pincode": "411001", "shipping_phone": "+919876543210"}),
    ("order.cancel", {"order_id": 9}),
    ("order.set_status", {"order_id": 9, "status": "shipped"}),
    ("category.create", {"name": "Idols", "slug": "idols", "parent_id": None, "sort_order": 1}),
    ("category.update", {"id": 2, "name": "Lamps", "is_active": False}),
    ("product.create", {"name": "Brass diya", "slug": "brass-diya", "product_type": "item", "price": 49900,
                        "discount_price": None, "category_id": 2, "stock": 10, "is_featured": True}),
    ("product.update", {"id": 5, "price": 45000, "image": None}),
    ("product.set_kit", {"kit_id": 7, "components": [{"product_id": 3, "quantity": 1},
                                                     {"product_id": 4, "quantity": 2}]}),
    ("stock.adjust", {"product_id": 3, "delta": -2, "reason": "damaged"}),
    ("booking.create", {"priest": 2, "service": 1, "booking_date": "2026-12-24", "booking_time": "10:30",
                        "location_latitude": 18.52, "location_longitude": 73.85,
                        "location_address": "Flat 4\nShivaji Nagar", "special_instructions": ""}),
    ("booking.confirm", {"booking_id": 4}),
    ("booking.complete", {"booking_id": 4, "completion_checklist": {"puja": True, "items": ["", "ghee"],
                                                                    "notes": None}}),
    ("booking.customer_confirm", {"booking_id": 4}),
    ("booking.cancel", {"booking_id": 4, "reason": "travel"}),
    ("booking.rate", {"booking_id": 4, "rating": 5, "feedback": "शुभ", "dakshina": 50000}),
    ("priest.verify", {"priest_id": 2, "verified": True, "notes": "documents checked"}),
    ("priest.kyc_reveal", {"priest_id": 2}),
    ("service.create", {"name": "Ganesh puja", "description": "", "service_type": "puja",
                        "duration_minutes": 90, "base_price": 250000, "is_active": True}),
    ("service.update", {"service_id": 1, "base_price": 300000}),
    ("priest.update_account", {"user": {"first_name": "Ravi", "email_notifications": True},
                               "profile": {"experience_years": 13, "languages": ["Hindi", "Marathi"]}}),
    ("notification.read", {"id": 5}),
    ("notification.read_all", {"up_to_id": 5}),
    ("priest.set_hours", {"hours": {"mon": [["09:00", "13:00"], ["16:00", "20:00"]], "tue": [], "wed": [],
                                    "thu": [], "fri": [], "sat": [["06:00", "21:00"]], "sun": []}}),
    ("priest.block", {"start": "2026-12-24T00:00:00+05:30", "end": "2026-12-25T00:00:00+05:30",
                      "reason": "family wedding"}),
    ("priest.unblock", {"block_id": 3}),
]

# The seed's first byte picks a command by its index in the workers' table
# (workers/commands.c, wk_command_at), read from that file so the two never
# drift apart; the second byte is actor id << 2 | role (fuzz_command.c ROLES).
TABLE = re.findall(r'^\s*\{"([a-z_]+\.[a-z_]+)", wk_', open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                    "..", "..", "workers", "commands.c")).read(), re.M)
ANONYMOUS = {"user.register", "user.create_admin"}
ADMIN = {"order.set_status", "category.create", "category.update", "product.create", "product.update",
         "product.set_kit", "stock.adjust", "priest.verify", "priest.kyc_reveal", "service.create", "service.update"}
PRIEST = {"booking.confirm", "booking.complete", "priest.update_profile", "priest.update_account",
          "priest.set_hours", "priest.block", "priest.unblock"}


def role_of(type_):
    return 0 if type_ in ANONYMOUS else 3 if type_ in ADMIN else 2 if type_ in PRIEST else 1


def command_seeds():
    seeds = []
    assert sorted(TABLE) == sorted(t for t, _ in COMMANDS), "a seed for every command in workers/commands.c"
    for type_, payload in COMMANDS:
        seeds.append(bytes([TABLE.index(type_), (7 << 2) | role_of(type_)]) + mp(payload))
    seeds.append(bytes([TABLE.index("user.update"), 0]) + mp({"": "", "first_name": "\u202eevil"}))   # near-valid
    seeds.append(bytes([TABLE.index("booking.create"), 5]) + b"\x82\xa6priest\x02\xa6priest\x03")   # a duplicate key
    return seeds


def envelope(payload, type_="booking.confirm", extra=None):
    m = {"v": 1, "id": bytes(range(16)), "type": type_, "issued_at": 1796083200000000,
         "actor": {"id": 7, "role": "customer"}, "request_id": "req-1", "reply_to": "api-0",
         "payload": payload}
    m.update(extra or {})
    return mp(m)


BODIES = [  # (endpoint index in fuzz_api_bodies.c's table, body)
    (0, {"username": "ravi", "email": "ravi@x.io", "password": "s3cret-pass", "role": "customer"}),
    (0, {"username": "pandit", "email": "p@x.io", "password": "s3cret-pass", "role": "priest",
         "specializations": ["Havan"], "languages": ["Sanskrit"], "experience_years": 9,
         "aadhaar_number": "2341 2341 2346", "pan_number": "abcpe1234f", "bank_ifsc_code": "SBIN0001234"}),
    (1, {"username": "ravi", "password": "s3cret-pass"}),
    (2, {"first_name": "Ravi", "phone": "+91 98765 43210", "address": None, "email_notifications": False}),
    (3, {"specializations": ["Griha Pravesh"], "service_radius_km": 25, "bio": "x"}),
    (4, {"old_password": "s3cret-pass", "new_password": "n3w-secret"}),
    (5, {"verified": True, "notes": "ok"}),
    (6, {"name": "Ganesh puja", "service_type": "puja", "duration_minutes": 90, "base_price": "2500.00"}),
    (7, {"base_price": 3000, "is_active": False}),
    (8, {"priest": 2, "service": 1, "booking_date": "2026-12-24", "booking_time": "10:30",
         "location_latitude": 18.52, "location_longitude": 73.85, "location_address": "Pune"}),
    (9, {}),
    (10, {"completion_checklist": {"puja": True}}),
    (11, {}),
    (12, {"reason": "travel"}),
    (13, {"rating": 5, "feedback": "good", "dakshina": "500.00"}),
    (14, {"product_id": 3, "quantity": 2}),
    (15, {"quantity": 1}),
    (16, {"product_id": 3}),
    (17, {"shipping_address": "12 MG Road", "shipping_city": "Pune", "shipping_state": "MH",
          "shipping_pincode": "411001", "shipping_phone": "+919876543210"}),
    (18, {"reason": "changed my mind"}),
    (19, {"status": "shipped"}),
    (20, {"name": "Idols", "slug": "idols", "parent": None}),
    (21, {"name": "Lamps", "sort_order": 2}),
    (22, {"name": "Brass diya", "slug": "brass-diya", "product_type": "item", "price": "499.00",
          "discount_price": "449.50", "stock": 10, "category": 2}),
    (23, {"price": 450, "is_featured": True}),
    (24, {"delta": -2, "reason": "damaged"}),
    (25, {"components": [{"product_id": 3, "quantity": 1}]}),
    (26, {"hours": {"mon": [["09:00", "13:00"], ["16:00", "20:00"]], "tue": [], "wed": [["06:00", "21:00"]],
                    "thu": [], "fri": [], "sat": [["10:30", "12:00"]], "sun": []}}),
    (27, {"start": "2026-12-24T00:00", "end": "2026-12-25T09:30:00+05:30", "reason": "family wedding"}),
    (28, {"up_to_id": 5}),
]


def main():
    write("fuzz_money", ["0", "1500", "1500.5", "1500.00", "100000000.00", "-1", "1e3", "12.345", "00.10", ""])
    write("fuzz_datetime", ["2026-12-24", "2024-02-29", "2023-02-29", "1900-01-01", "2200-12-31", "10:30",
                            "23:59:00", "24:00", "10:07:30", "330", "-720", "pending", "confirmed"])
    write("fuzz_uuid", ["0190f3a2-7c1e-7d4a-9b2c-1234567890ab", "0190F3A2-7C1E-7D4A-9B2C-1234567890AB",
                        "0190f3a27c1e7d4a9b2c1234567890ab", "0190f3a2-7c1e-7d4a-9b2c-1234567890a"])
    write("fuzz_text_rules", [b"\x20" + s.encode() for s in [
        "ravi_99", "ravi@x.io", "s3cret-pass", "+91 98765 43210", "2341 2341 2346", "abcpe1234f",
        "SBIN0001234", "123456789012", "brass-diya", "411001", "PUN-000123-0", "shipped", "a\u202eb"]]
        + [b"\x04" + b"2341-2341-2346"])
    write("fuzz_json", [json.dumps(b) for _, b in BODIES[:8]] + [
        '{"a":1,"a":2}', '{"n":1e400}', '{"n":-9223372036854775809}', '{"s":"\\u0000"}', '[1]',
        '{"m":"1500.5","i":12,"b":true,"x":null}', '{"d":' + '[' * 40 + ']' * 40 + '}'])
    write("fuzz_envelope", [envelope({"booking_id": 4}), envelope({}, "user.register", {"x-unknown": 1}),
                            envelope({"a": [1, {"b": None}]}, "order.checkout"),
                            envelope({}, "Bad Type"), envelope({})[:-3]]
          + [envelope(COMMANDS[i][1], COMMANDS[i][0]) for i in (0, 5, 10, 14, 16, 20)])
    write("fuzz_command", command_seeds())
    write("fuzz_api_bodies", [bytes([i]) + json.dumps(b, ensure_ascii=False).encode() for i, b in BODIES]
          + [b"\x08{\"priest\": 2, \"priest\": 3}", b"\x00{\"username\": \"a\\u0000b\"}"])
    write("fuzz_query", ["page=2&page_size=50", "search=ganesh+puja&category=idols", "is_active=true",
                         "page=0", "page_size=101", "search=%ff%fe", "search=%00", "page=2&page=3&x", "&&=&"])
    write("fuzz_routes", ["/api/bookings/", "/api/bookings/42/confirm/", "/api/products/brass-diya/",
                          "/api/commands/0190f3a2-7c1e-7d4a-9b2c-1234567890ab/", "/api/admin/products/7/kit/",
                          "/api/bookings/007/", "/api/bookings/9999999999999999999/", "/healthz", "//api//"])
    write("fuzz_headers", [
        "punyaka_session=" + "A" * 43 + "; csrftoken=x\nrespond-async, wait=5\nkey-1\nreq-42\n" + "B" * 43
        + "\napplication/json\n{\"a\":1}",
        "a=b; punyaka_session=short\nwait=-3\n\n\n\napplication/json; charset=utf-8\n{\"feedback\":\"" + "x" * 40 + "\"}",
        "\nwait=99999999999\n" + "k" * 300 + "\nbad id!\n\ntext/plain\n{}"])
    # first byte: where fuzz_framing cuts the input into two reads
    write("fuzz_framing", [
        "\x20GET /api/priests/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "\x30POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "\x10POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        "\x05POST / HTTP/1.0\nContent-Length: 0, 5\nX: a\n b\n\n",
        "\r\nGET / HTTP/1.1\r\ncontent-length: 007\r\nCONTENT-LENGTH: 7\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        " G T//PT \n\n",   # h2o "incomplete" (under 9 bytes after the path), never a head
        "\r\nGET / HTTP/1.1\r\ncontent-length: 007\r\nCONTENT-LENGTH: 7\t\n\r\nGE1\r\n"])


if __name__ == "__main__":
    main()
