;; badmetadata: metadata without a name.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "version=1.0.0\ndecisions=exit\n")
  (func (export "hermes_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "hermes_metadata") (result i64) (i64.const 0x000000100000001d))
  (func (export "hermes_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "hermes_decide") (param i32 i32 i32) (result i64) (i64.const -1)))
