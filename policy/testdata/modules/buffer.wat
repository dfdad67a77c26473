;; buffer: makes exit decisions only, and checks the host keeps to the input
;; buffer contract. hermes_alloc counts its calls and hands out the buffer at
;; 65536 (up to 64 KiB); hermes_decide declines (-2) an input that is not in
;; that buffer, and otherwise restarts with the reason "allocs N", N the
;; number of hermes_alloc calls this instance has seen.
(module
  (memory (export "memory") 2)
  (data (i32.const 16) "name=buffer\nversion=1.0.0\ndecisions=exit\n")
  (global $allocs (mut i32) (i32.const 0))
  (global $cap (mut i32) (i32.const 0))
  (func (export "hermes_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "hermes_metadata") (result i64) (i64.const 0x0000001000000029))
  (func (export "hermes_alloc") (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (i32.const 65536)) (then unreachable))
    (global.set $allocs (i32.add (global.get $allocs) (i32.const 1)))
    (global.set $cap (local.get $n))
    (i32.const 65536))
  (func (export "hermes_decide") (param $kind i32) (param $rec i32) (param $len i32) (result i64)
    (if (i32.or (i32.ne (local.get $rec) (i32.const 65536))
                (i32.gt_u (local.get $len) (global.get $cap)))
      (then (return (i64.const -2))))
    ;; "allocs N", N < 10
    (i64.store (i32.const 1056) (i64.const 0x2073636f6c6c61)) ;; "allocs "
    (i32.store8 (i32.const 1063) (i32.add (i32.const 48) (i32.rem_u (global.get $allocs) (i32.const 10))))
    (i32.store (i32.const 1024) (i32.const 40))
    (i32.store (i32.const 1028) (i32.const 4))
    (i32.store (i32.const 1032) (i32.const 3))
    (i32.store (i32.const 1044) (i32.const 8))
    (i64.const 0x0000040000000028)))
