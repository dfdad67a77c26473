;; sandbox: looks at the world through WASI and reports what it sees in the
;; reason of an exit decision, one character each:
;;   [0] '1' when the wall clock reads the Unix epoch, else '0'
;;   [1] '0' + the number of environment variables
;;   [2] '0' + the number of arguments
;;   [3] '1' when file descriptor 3 is not a preopened directory, else '0'
;;   [4] '1' when opening "/etc/passwd" relative to fd 3 fails, else '0'
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "name=sandbox\nversion=1.0.0\ndecisions=exit\n")
  (data (i32.const 128) "/etc/passwd")
  (func (export "hermes_abi_version") (result i32) (i32.const 0x00010000))
  (func (export "hermes_metadata") (result i64) (i64.const 0x000000100000002a))
  (func (export "hermes_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "hermes_decide") (param i32 i32 i32) (result i64)
    (i64.store (i32.const 200) (i64.const -1))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 200)))
    (i32.store8 (i32.const 1056) (i32.add (i32.const 48) (i64.eqz (i64.load (i32.const 200)))))
    (drop (call $env (i32.const 208) (i32.const 212)))
    (i32.store8 (i32.const 1057) (i32.add (i32.const 48) (i32.load (i32.const 208))))
    (drop (call $args (i32.const 216) (i32.const 220)))
    (i32.store8 (i32.const 1058) (i32.add (i32.const 48) (i32.load (i32.const 216))))
    (i32.store8 (i32.const 1059) (i32.add (i32.const 48)
      (i32.ne (call $prestat (i32.const 3) (i32.const 224)) (i32.const 0))))
    (i32.store8 (i32.const 1060) (i32.add (i32.const 48)
      (i32.ne (call $open (i32.const 3) (i32.const 0) (i32.const 128) (i32.const 11) (i32.const 0)
                          (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 232)) (i32.const 0))))
    (i32.store (i32.const 1024) (i32.const 37))
    (i32.store (i32.const 1028) (i32.const 4))
    (i32.store (i32.const 1032) (i32.const 3))
    (i32.store (i32.const 1044) (i32.const 5))
    (i64.const 0x0000040000000025)))
