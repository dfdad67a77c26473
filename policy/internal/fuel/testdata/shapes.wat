;; shapes: the control flow Meter must bound. Each export takes n.
(module
  (global $g (mut i32) (i32.const 0))
  (memory (export "memory") 1)
  ;; spin: a loop that never ends.
  (func (export "spin") (param $n i32) (result i32)
    (loop $l (br $l))
    (i32.const 0))
  ;; count: n turns of a loop with a nested block, returns n.
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    (block $out
      (loop $l
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (block (local.set $i (i32.add (local.get $i) (i32.const 1))))
        (br $l)))
    (local.get $i))
  ;; nested: n x n turns through br_table into an outer loop.
  (func (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $s i32)
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (loop $inner
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_table $outer $done (i32.const 0))))
    (local.get $s))
  ;; recurse: calls itself n deep, loop-free.
  (func $recurse (export "recurse") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $recurse (i32.sub (local.get $n) (i32.const 1)))))))
  ;; global: the module's own global keeps its index.
  (func (export "global") (param $n i32) (result i32)
    (global.set $g (local.get $n))
    (global.get $g)))
