package state

import "syscall"

const syscallESRCH = syscall.ESRCH
