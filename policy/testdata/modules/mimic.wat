;; mimic: the native fallback's decisions, written by hand against ABI 1.1.
;; It stands in for the embedded default module in the host's own tests and
;; proves the differential harness.
(module
  (memory (export "memory") 1)

  (data (i32.const 16) "name=mimic\nversion=1.0.0\ndecisions=boot,shutdown,exit\n")
  ;; 16..70: metadata (54 bytes)

  ;; reasons and pieces
  (data (i32.const 256) "multiplex_profiles keeps named profiles down") ;; 44
  (data (i32.const 320) "no state")                                      ;; 8
  (data (i32.const 336) "state unreadable")                              ;; 16
  (data (i32.const 368) "operator stop")                                 ;; 13
  (data (i32.const 384) "restart requested")                             ;; 17
  (data (i32.const 416) "signal without marker: revive at boot")         ;; 37
  (data (i32.const 464) "exited 0: done")                                ;; 14
  (data (i32.const 480) "exited 78 (EX_CONFIG): configuration error")    ;; 42
  (data (i32.const 528) "killed by signal ")                             ;; 17
  (data (i32.const 548) "exited ")                                       ;; 7
  (data (i32.const 556) ": restart")                                     ;; 9
  (data (i32.const 568) "desired ")                                      ;; 8
  (data (i32.const 576) "state ")                                        ;; 6
  (data (i32.const 584) "multiplex_profiles")                            ;; 18
  (data (i32.const 604) "state(")                                        ;; 6
  ;; state names, 16 bytes apart from 640, lengths in the table at 800
  (data (i32.const 640) "none")
  (data (i32.const 656) "unreadable")
  (data (i32.const 672) "starting")
  (data (i32.const 688) "running")
  (data (i32.const 704) "draining")
  (data (i32.const 720) "degraded")
  (data (i32.const 736) "stopped")
  (data (i32.const 752) "startup_failed")
  (data (i32.const 768) "other")
  (data (i32.const 800) "\04\0a\08\07\08\08\07\0e\05")
  ;; ABI 1.1: seeding at boot
  (data (i32.const 928) "bootstrap_state")                                             ;; 15
  (data (i32.const 2048) "first boot: bootstrap_state running seeds running")         ;; 49
  (data (i32.const 2112) "legacy gateway run command: seeds running")                 ;; 41

  (global $cur (mut i32) (i32.const 0)) ;; reason write cursor

  (func (export "hermes_abi_version") (result i32) (i32.const 0x00010001))
  (func (export "hermes_metadata") (result i64) (i64.const 0x0000001000000036))
  (func (export "hermes_alloc") (param $n i32) (result i32) (i32.const 4096))

  ;; emit appends len bytes from src to the reason.
  (func $emit (param $src i32) (param $len i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (global.get $cur) (local.get $i))
                    (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (global.set $cur (i32.add (global.get $cur) (local.get $len))))

  ;; itoa appends the decimal form of a signed 32-bit integer.
  (func $itoa (param $v i32)
    (local $u i64)
    (local.set $u (i64.extend_i32_s (local.get $v)))
    (if (i64.lt_s (local.get $u) (i64.const 0))
      (then
        (i32.store8 (global.get $cur) (i32.const 45))
        (global.set $cur (i32.add (global.get $cur) (i32.const 1)))
        (local.set $u (i64.sub (i64.const 0) (local.get $u)))))
    (call $utoa (local.get $u)))

  ;; utoa appends the decimal form of a non-negative integer.
  (func $utoa (param $u i64)
    (local $p i32)
    ;; digits backwards into 900..920
    (local.set $p (i32.const 920))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $u) (i64.const 10)))))
      (local.set $u (i64.div_u (local.get $u) (i64.const 10)))
      (br_if $l (i64.ne (local.get $u) (i64.const 0))))
    (call $emit (local.get $p) (i32.sub (i32.const 920) (local.get $p))))

  (func $statename (param $s i32)
    (if (i32.le_u (local.get $s) (i32.const 8))
      (then
        (call $emit (i32.add (i32.const 640) (i32.mul (local.get $s) (i32.const 16)))
                    (i32.load8_u (i32.add (i32.const 800) (local.get $s)))))
      (else
        (call $emit (i32.const 604) (i32.const 6))
        (call $utoa (i64.extend_i32_u (local.get $s)))
        (i32.store8 (global.get $cur) (i32.const 41))
        (global.set $cur (i32.add (global.get $cur) (i32.const 1))))))

  ;; param returns the address of the value of the parameter named by the
  ;; kl bytes at key when it has type t, else 0.
  (func $param (param $rec i32) (param $key i32) (param $kl i32) (param $want i32) (result i32)
    (local $p i32) (local $end i32) (local $n i32) (local $t i32) (local $v i32) (local $i i32) (local $eq i32)
    (local.set $p (i32.add (local.get $rec) (i32.load offset=84 (local.get $rec))))
    (local.set $end (i32.add (local.get $p) (i32.load offset=88 (local.get $rec))))
    (block $out
      (loop $l
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $n (i32.load16_u (local.get $p)))
        (local.set $t (i32.load8_u (i32.add (local.get $p) (i32.add (i32.const 2) (local.get $n)))))
        (local.set $v (i32.add (local.get $p) (i32.add (i32.const 3) (local.get $n))))
        (if (i32.and (i32.eq (local.get $n) (local.get $kl)) (i32.eq (local.get $t) (local.get $want)))
          (then
            (local.set $eq (i32.const 1))
            (local.set $i (i32.const 0))
            (block $cmp
              (loop $c
                (br_if $cmp (i32.ge_u (local.get $i) (local.get $kl)))
                (if (i32.ne (i32.load8_u (i32.add (i32.add (local.get $p) (i32.const 2)) (local.get $i)))
                            (i32.load8_u (i32.add (local.get $key) (local.get $i))))
                  (then (local.set $eq (i32.const 0))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $c)))
            (if (local.get $eq) (then (return (local.get $v))))))
        (local.set $p
          (if (result i32) (i32.eq (local.get $t) (i32.const 1))
            (then (i32.add (local.get $v) (i32.const 1)))
            (else (if (result i32) (i32.eq (local.get $t) (i32.const 4))
              (then (i32.add (local.get $v) (i32.add (i32.const 4) (i32.load (local.get $v)))))
              (else (i32.add (local.get $v) (i32.const 8)))))))
        (br $l)))
    (i32.const 0))

  ;; multiplex reports whether params hold multiplex_profiles = true.
  (func $multiplex (param $rec i32) (result i32)
    (local $v i32)
    (local.set $v (call $param (local.get $rec) (i32.const 584) (i32.const 18) (i32.const 1)))
    (if (result i32) (local.get $v)
      (then (i32.eq (i32.load8_u (local.get $v)) (i32.const 1)))
      (else (i32.const 0))))

  ;; bootstrap reports whether params hold bootstrap_state = "running".
  (func $bootstrap (param $rec i32) (result i32)
    (local $v i32) (local $i i32)
    (local.set $v (call $param (local.get $rec) (i32.const 928) (i32.const 15) (i32.const 4)))
    (if (i32.eqz (local.get $v)) (then (return (i32.const 0))))
    (if (i32.ne (i32.load (local.get $v)) (i32.const 7)) (then (return (i32.const 0))))
    (block $done
      (loop $c
        (br_if $done (i32.ge_u (local.get $i) (i32.const 7)))
        (if (i32.ne (i32.load8_u (i32.add (i32.add (local.get $v) (i32.const 4)) (local.get $i)))
                    (i32.load8_u (i32.add (i32.const 688) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $c)))
    (i32.const 1))

  ;; answer writes the header at 1024 (reason already at 1056..cur).
  (func $answer (param $action i32) (param $state i32) (param $desired i32) (param $code i32) (result i64)
    (local $rl i32)
    (local.set $rl (i32.sub (global.get $cur) (i32.const 1056)))
    (i32.store offset=1024 (i32.const 0) (i32.add (i32.const 32) (local.get $rl)))
    (i32.store offset=1028 (i32.const 0) (local.get $action))
    (i32.store offset=1032 (i32.const 0) (local.get $state))
    (i32.store offset=1036 (i32.const 0) (local.get $desired))
    (i32.store offset=1040 (i32.const 0) (local.get $code))
    (i32.store offset=1044 (i32.const 0) (local.get $rl))
    (i64.store offset=1048 (i32.const 0) (i64.const 0))
    (i64.or (i64.const 0x0000040000000000) (i64.extend_i32_u (i32.add (i32.const 32) (local.get $rl)))))

  (func (export "hermes_decide") (param $kind i32) (param $rec i32) (param $len i32) (result i64)
    (local $intent i32) (local $sig i32) (local $code i32) (local $t i32)
    (global.set $cur (i32.const 1056))
    ;; boot
    (if (i32.eq (local.get $kind) (i32.const 1))
      (then
        ;; the root profile with no state file: first boot, then the legacy command
        (local.set $t (i32.load offset=12 (local.get $rec)))
        (if (i32.eq (i32.and (local.get $t) (i32.const 3)) (i32.const 3))
          (then
            (if (call $bootstrap (local.get $rec))
              (then
                (call $emit (i32.const 2048) (i32.const 49))
                (return (call $answer (i32.const 1) (i32.const 3) (i32.const 0) (i32.const 0)))))
            (if (i32.and (local.get $t) (i32.const 4))
              (then
                (call $emit (i32.const 2112) (i32.const 41))
                (return (call $answer (i32.const 1) (i32.const 3) (i32.const 3) (i32.const 0)))))))
        (if (i32.and (i32.eqz (i32.and (i32.load offset=12 (local.get $rec)) (i32.const 1)))
                     (call $multiplex (local.get $rec)))
          (then
            (call $emit (i32.const 256) (i32.const 44))
            (return (call $answer (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0)))))
        (local.set $intent (i32.load offset=24 (local.get $rec)))
        (if (i32.load offset=28 (local.get $rec))
          (then
            (local.set $intent (i32.load offset=28 (local.get $rec)))
            (call $emit (i32.const 568) (i32.const 8)))
          (else (call $emit (i32.const 576) (i32.const 6))))
        (call $statename (local.get $intent))
        (if (i32.eqz (local.get $intent))
          (then (global.set $cur (i32.const 1056)) (call $emit (i32.const 320) (i32.const 8))))
        (if (i32.eq (local.get $intent) (i32.const 1))
          (then (global.set $cur (i32.const 1056)) (call $emit (i32.const 336) (i32.const 16))))
        ;; a recorded desired_state starts only when running; gateway_state
        ;; also when draining or degraded
        (if (i32.load offset=28 (local.get $rec))
          (then
            (if (i32.eq (local.get $intent) (i32.const 3))
              (then (return (call $answer (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))))))
          (else
            (if (i32.and (i32.ge_u (local.get $intent) (i32.const 3)) (i32.le_u (local.get $intent) (i32.const 5)))
              (then (return (call $answer (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))))))
        (return (call $answer (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0)))))
    ;; shutdown
    (if (i32.eq (local.get $kind) (i32.const 2))
      (then
        (local.set $t (i32.load offset=44 (local.get $rec)))
        (if (i32.eq (local.get $t) (i32.const 2))
          (then
            (call $emit (i32.const 368) (i32.const 13))
            (return (call $answer (i32.const 0) (i32.const 6) (i32.const 6) (i32.const 0)))))
        (if (i32.eq (local.get $t) (i32.const 3))
          (then
            (call $emit (i32.const 384) (i32.const 17))
            (return (call $answer (i32.const 0) (i32.const 6) (i32.const 3) (i32.const 0)))))
        (call $emit (i32.const 416) (i32.const 37))
        (return (call $answer (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 1)))))
    ;; exit
    (if (i32.eq (local.get $kind) (i32.const 3))
      (then
        (local.set $sig (i32.load offset=48 (local.get $rec)))
        (local.set $code (i32.load offset=64 (local.get $rec)))
        (if (i32.eqz (local.get $sig))
          (then
            (if (i32.eqz (local.get $code))
              (then
                (call $emit (i32.const 464) (i32.const 14))
                (return (call $answer (i32.const 5) (i32.const 6) (i32.const 0) (i32.const 0)))))
            (if (i32.eq (local.get $code) (i32.const 78))
              (then
                (call $emit (i32.const 480) (i32.const 42))
                (return (call $answer (i32.const 5) (i32.const 6) (i32.const 0) (i32.const 0)))))
            (call $emit (i32.const 548) (i32.const 7))
            (call $itoa (local.get $code)))
          (else
            (call $emit (i32.const 528) (i32.const 17))
            (call $itoa (local.get $sig))))
        (call $emit (i32.const 556) (i32.const 9))
        (return (call $answer (i32.const 4) (i32.const 3) (i32.const 0) (i32.const 0)))))
    (i64.const -1))
)
