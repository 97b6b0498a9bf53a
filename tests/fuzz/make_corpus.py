#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/<target>/ (protocol spec examples and
the unit tests' vectors). Inputs that scripts/fuzz merged in (named by their SHA-1) are kept.
Run it after changing the seeds below: /usr/bin/python3 tests/fuzz/make_corpus.py"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def ws_upgrade(target, headers=b"", body=b""):
    h = (b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + headers)
    if body:
        h += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return h + b"\r\n" + body


def request(method, target, headers=b"", body=b""):
    h = method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
    if body:
        h += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return h + b"\r\n" + body


PLACEHOLDER0 = b'{"_placeholder":true,"num":0}'
PLACEHOLDER1 = b'{"_placeholder":true,"num":1}'
OPEN = b'{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'

SEEDS = {
    # First byte: '0' text frame, '1' v3 binary frame, '2' v4 payload, '3' v3 text payload,
    # '4' v3 binary payload, '5' base64 (engineio_decoder.cpp).
    "engineio_decoder": [
        b"00" + OPEN, b"01", b"02", b"02probe", b"03", b"03probe", b"04hello", b"04", b"05", b"06",
        b"07", b"0", b"0x", b"04\xe2\x82\xac", b"04\xf0\x9f\x98\x80",
        b"1\x04hello", b"1\x04", b"1\x07x", b"1\x02",
        b"24hello\x1e4world", b"2bAQIDBA==", b"24hello\x1ebAQIDBA==", b"22\x1e3", b"24\xe2\x82\xac\x1e6",
        b"2\x1e\x1e", b"2bAQ", b"2b====", b"2" + b"\x1e".join([b"4x"] * 20),
        b"36:4hello", b"32:4\xe2\x82\xac", b"36:4hello2:4\xe2\x82\xac", b"310:b4AQIDBA==", b"31:6",
        b"33:4\xf0\x9f\x98\x80", b"30:", b"399:4x", b"32:4\xf0\x9f\x98\x80", b"31234567890:4", b"3:4",
        b"4\x00\x06\xff4hello", b"4\x01\x05\xff\x04\x01\x02\x03\x04", b"4\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04",
        b"4\x00\x09\xff4", b"4\x02", b"4\x00\xff",
        b"5aGVsbG8=", b"5aGVsbG8", b"5AQIDBA==", b"5=", b"5a===", b"5", b"5////",
    ],
    # Messages separated by '\n'; 'B' starts a binary message (socketio_decoder.cpp).
    "socketio_decoder": [
        b"0", b'0{"token":"123"}', b"0/admin,", b'0/admin,{"token":"123"}', b"1", b"1/admin,",
        b'2["hello",1]', b'2/admin,456["project:delete",123]', b"3/admin,456[]", b'3/admin,456["ok",{"a":1}]',
        b'4{"message":"Not authorized"}', b'4/admin,{"message":"Not authorized","data":{"x":1}}', b'4"refused"',
        b'51-["hello",' + PLACEHOLDER0 + b']\nB\x01\x02\x03',
        b'61-/admin,456[' + PLACEHOLDER0 + b']\nB\x03\x02\x01',
        b'52-["two",' + PLACEHOLDER0 + b',' + PLACEHOLDER1 + b']\nBa\nBb',
        b'51-["a"]\n2["b"]', b'2["a"]\n2["b"]\n2["c"]', b"Bstray", b'2["a"]\x00garbage', b'2["caf\xc3\xa9"]',
        b'2["\\ud83d\\ude00"]', b'2["e",{"a":[1,2.5,-3e10,true,false,null]}]', b'2["connect"]',
        b'2["e",' + b"[" * 300 + b"]" * 300 + b"]", b'2["a"', b'2["a"]garbage', b"2{", b"2", b"2[]",
        b"299999999999999999999[\"a\"]", b'5x-["a"]', b'599999999999-["a"]', b'2admin,["a"]',
        b'51-["a",{"_placeholder":true,"num":5}]', b'2["a\\u0000b"]', b"2[\"\xf0\x9f\"]",
        b'2["e",10e308]', b'2["e","\\udc00"]',
    ],
    "json_decoder": [
        b'{"id":1,"items":[{"sku":"a","qty":2,"price":9.5,"gift":true}],"tags":{"x":[1,2]},'
        b'"featured":{"sku":"b","qty":1},"receipt":' + PLACEHOLDER0 + b',"pair":[1,"x"],'
        b'"extra":{"any":[null]},"ratio":0.5}',
        b'{"id":18446744073709551615,"items":[],"tags":{},"receipt":' + PLACEHOLDER1 + b',"pair":[-1,""],"extra":null}',
        b'{"id":-1}', b'{"items":[{"sku":1}]}', b'{"tags":{"a":[70000]}}', b'{"pair":[1]}', b'{"ratio":1e300}',
        b'{"receipt":{"_placeholder":true,"num":7}}', b'{"featured":null}',
        b'{"a":}', b"[1,2", b"", b"[1] [2]", b"[1]\x00[2]", b'"a\xff"', b"1e400", b'{"a" 1}', b'["\\ud800"]',
        b'"0123456789abcdef\xf0', b'["0123456789abcdef\xe2\x82', b'"\xc3', b'["\xf0\x9f\x98\x80"]',
        b"[" * 257 + b"]" * 257, b"[" * 256 + b"]" * 256, b'{"a":' * 50, b'"\\u0041\\n\\t\\"\\\\\\/"',
        b"-0", b"0.1e-400", b"123456789012345678901234567890", b"true", b"null", b' \t\n{ "k" : [ ] } ',
        # found by fuzzing: a number that overflows to infinity, a lone low surrogate escape
        b"3114561e308", b'{"items":[{"sku":"\\udc00"}]}',
    ],
    "http_request": [
        request(b"GET", b"/car/7"), request(b"GET", b"/car/7/?limit=3&color=dark%20blue"),
        request(b"GET", b"/car/abc?limit=x1"), request(b"GET", b"/car/99999999999"),
        request(b"GET", b"/car/5/owner", b"X-Token: s3cret\r\n"), request(b"GET", b"/car/5/owner"),
        request(b"GET", b"/car/flags?a=true&b=1.5&c=255"), request(b"GET", b"/car/flags?a=maybe&b=x&c=300"),
        request(b"POST", b"/car", b"Content-Type: application/json\r\n", b'{"model":"T","year":1908}'),
        request(b"POST", b"/car", b"", b'{"model":"T","year":"x","tags":[1]}'),
        request(b"POST", b"/car", b"", b'{"model":"T","year":1}\x00garbage'),
        request(b"PUT", b"/car/3", b"", b'{"model":"S","year":2}'), request(b"DELETE", b"/car/2.5"),
        request(b"HEAD", b"/car/7"), request(b"PATCH", b"/car/1"), request(b"GET", b"/boom"), request(b"GET", b"/nothing"),
        request(b"GET", b"/static/a.txt"), request(b"GET", b"/static/"), request(b"GET", b"/static/../etc/passwd"),
        request(b"GET", b"/static/%2e%2e/%2e%2e/etc/passwd"), request(b"GET", b"/static/sub/b.json"),
        request(b"GET", b"/static/sub/..%2f..%2fa.txt"),
        request(b"GET", b"/socket.io/?EIO=4&transport=polling"), request(b"GET", b"/socket.io/?EIO=3&transport=polling&b64=1"),
        request(b"POST", b"/socket.io/?EIO=4&transport=polling&sid=abc", b"", b"4hello\x1e2"),
        ws_upgrade(b"/socket.io/?EIO=4&transport=websocket"),
        request(b"OPTIONS", b"/socket.io/", b"Origin: http://example.com\r\nAccess-Control-Request-Headers: x\r\n"),
        request(b"GET", b"/socket.io/?EIO=5&transport=carrier-pigeon&sid="),
        b"GET / HTTP/1.0\r\n\r\n", b"GET /car/7 HTTP/1.1\r\nHost: x\r\nX-Token: a\r\nX-Token: b\r\n\r\n",
    ],
    "ws_route_params": [
        ws_upgrade(b"/rooms/lobby", b"X-User: u1\r\n"), ws_upgrade(b"/rooms/lobby?since=42"),
        ws_upgrade(b"/rooms/caf%C3%A9?since=-9223372036854775808"), ws_upgrade(b"/rooms/lobby?since=x"),
        ws_upgrade(b"/users/7/feed/news?compact=yes&ratio=0.5", b"X-Level: -3\r\n"),
        ws_upgrade(b"/users/x/feed/a?ratio=1e400", b"X-Level: 300\r\n"), ws_upgrade(b"/users/4294967296/feed/a?ratio=1"),
        ws_upgrade(b"/live?token=abc"), ws_upgrade(b"/live"), ws_upgrade(b"/nothing"), ws_upgrade(b"/rooms/"),
        ws_upgrade(b"/live?token=abc", b"", b"123"), ws_upgrade(b"/live?token=abc", b"", b"1e300"),
        ws_upgrade(b"/live?token=abc", b"", b"true"), ws_upgrade(b"/live?token=abc", b"", b"-0.5"),
        ws_upgrade(b"/live?token=abc", b"", b"+18446744073709551616"), ws_upgrade(b"/rooms/a%2Fb"),
        ws_upgrade(b"/users/1/feed/%?compact=off&ratio=nan"),
    ],
}


def main():
    for target, seeds in SEEDS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for i, data in enumerate(seeds):
            with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
