;; wrongabi: speaks ABI 2.0.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "name=wrongabi\nversion=1.0.0\ndecisions=boot,shutdown,exit\n")
  (func (export "hermes_abi_version") (result i32) (i32.const 0x00020000))
  (func (export "hermes_metadata") (result i64) (i64.or (i64.const 0x0000001000000000) (i64.const 57)))
  (func (export "hermes_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "hermes_decide") (param i32 i32 i32) (result i64) (i32.store (i32.const 1024) (i32.const 32)) (i32.store (i32.const 1028) (i32.const 4)) (i32.store (i32.const 1032) (i32.const 3)) (i64.const 0x0000040000000020)))
