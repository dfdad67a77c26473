;; counter: makes exit decisions only. It restarts with the reason "call N",
;; N counting the decisions this instance has made (so a test can see
;; whether an instance was reused or replaced). Exit code 99 makes it trap,
;; 98 makes it spin forever, 97 makes it decline.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "name=counter\nversion=1.0.0\ndecisions=exit\n")
  (global $calls (mut i32) (i32.const 0))
  (func (export "hermes_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "hermes_metadata") (result i64) (i64.const 0x000000100000002a))
  (func (export "hermes_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "hermes_decide") (param $kind i32) (param $rec i32) (param $len i32) (result i64)
    (local $code i32)
    (local.set $code (i32.load offset=64 (local.get $rec)))
    (if (i32.eq (local.get $code) (i32.const 99)) (then unreachable))
    (if (i32.eq (local.get $code) (i32.const 98)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $code) (i32.const 97)) (then (return (i64.const -1))))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    ;; "call N", N < 10
    (i32.store (i32.const 1056) (i32.const 0x6c6c6163)) ;; "call"
    (i32.store8 (i32.const 1060) (i32.const 32))
    (i32.store8 (i32.const 1061) (i32.add (i32.const 48) (i32.rem_u (global.get $calls) (i32.const 10))))
    (i32.store (i32.const 1024) (i32.const 38))
    (i32.store (i32.const 1028) (i32.const 4))
    (i32.store (i32.const 1032) (i32.const 3))
    (i32.store (i32.const 1044) (i32.const 6))
    (i64.const 0x0000040000000026)))
