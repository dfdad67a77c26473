package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/hermes-supervisor/hermes-supervisor/supervisor/runner"
)

func init() { commands = append(commands, newFinishCmd) }

func newFinishCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "finish EXITCODE SIGNAL",
		Short: "Tell s6 whether to restart the gateway (what an s6 slot's finish script execs)",
		Long: `Exit 125 (s6: do not restart) or 0 (restart), as the policy decided.
EXITCODE and SIGNAL are what s6 passes to finish; EXITCODE 256 means
"supervisor run" was killed by SIGNAL. See supervisor/runner/README.md.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := strconv.Atoi(args[0])
			if err != nil || code < 0 || code > 256 {
				return &usageError{fmt.Errorf("finish: EXITCODE %q is not 0..256", args[0])}
			}
			sig, err := strconv.Atoi(args[1])
			if err != nil || sig < 0 || sig > 64 {
				return &usageError{fmt.Errorf("finish: SIGNAL %q is not 0..64", args[1])}
			}
			ctx := context.Background()
			// finish usually follows the verdict run recorded and needs no
			// policy: s6 gives it 5 seconds, so the module is loaded only
			// when a decision is really asked for.
			o, lazy, err := finishOptions(g)
			if err != nil {
				return err
			}
			defer lazy.Close(ctx)
			return withCode(runner.Finish(ctx, o, code, sig), nil)
		},
	}
}
