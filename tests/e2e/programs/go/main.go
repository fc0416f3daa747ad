// A Go program on the generated SDK, run as an Automation API inline program
// (auto.UpsertStackInlineSource). Usage: program up-api|up-access|refresh|destroy
// (env: PULUMI_CLI_ROOT, WORK_DIR, NATIVE_CONFIG).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/stackguardian/sg-bitbucket-iac/sdk/go/sgbitbucket"
)

func program(access bool) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		args := &sgbitbucket.ConnectorArgs{
			Name:        pulumi.String("go-main"),
			Workspace:   pulumi.String("acme"),
			Description: pulumi.String("from Go"),
			AuthType:    sgbitbucket.AuthTypeApiToken,
			Username:    pulumi.String("alice"),
			Email:       pulumi.String("alice@acme.io"),
			ApiToken:    cfg.RequireSecret("token_api"),
		}
		if access {
			args = &sgbitbucket.ConnectorArgs{
				Name:             pulumi.String("go-main"),
				Workspace:        pulumi.String("acme"),
				AuthType:         sgbitbucket.AuthTypeAccessToken,
				AccessTokenScope: sgbitbucket.AccessTokenScopeWorkspace,
				AccessToken:      cfg.RequireSecret("token_access"),
			}
		}
		main, err := sgbitbucket.NewConnector(ctx, "main", args)
		if err != nil {
			return err
		}
		found := sgbitbucket.LookupConnectorOutput(ctx, sgbitbucket.LookupConnectorOutputArgs{ConnectorId: main.ConnectorId})
		ctx.Export("connectorId", main.ConnectorId)
		ctx.Export("authType", main.AuthType)
		ctx.Export("lookedUpName", found.Name())
		return nil
	}
}

func run(ctx context.Context, step string) (any, error) {
	command, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{
		Root: os.Getenv("PULUMI_CLI_ROOT"), SkipVersionCheck: true,
	})
	if err != nil {
		return nil, err
	}
	project := workspace.Project{Name: "native-go", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	stack, err := auto.UpsertStackInlineSource(ctx, "e2e", "native-go", program(step == "up-access"),
		auto.WorkDir(os.Getenv("WORK_DIR")), auto.Pulumi(command), auto.SecretsProvider("passphrase"),
		auto.Project(project))
	if err != nil {
		return nil, err
	}
	var values auto.ConfigMap
	if err := json.Unmarshal([]byte(os.Getenv("NATIVE_CONFIG")), &values); err != nil {
		return nil, err
	}
	if err := stack.SetAllConfig(ctx, values); err != nil {
		return nil, err
	}
	switch step {
	case "up-api", "up-access":
		up, err := stack.Up(ctx, optup.ErrorProgressStreams(os.Stderr), optup.ProgressStreams(os.Stderr))
		if err != nil {
			return nil, err
		}
		outputs := map[string]any{}
		for name, output := range up.Outputs {
			outputs[name] = output.Value
		}
		return map[string]any{"outputs": outputs, "summary": up.Summary.ResourceChanges}, nil
	case "refresh":
		refresh, err := stack.Refresh(ctx, optrefresh.ProgressStreams(os.Stderr))
		if err != nil {
			return nil, err
		}
		return map[string]any{"summary": refresh.Summary.ResourceChanges}, nil
	case "destroy":
		destroy, err := stack.Destroy(ctx, optdestroy.ProgressStreams(os.Stderr))
		if err != nil {
			return nil, err
		}
		return map[string]any{"summary": destroy.Summary.ResourceChanges}, nil
	}
	return nil, fmt.Errorf("unknown step %q", step)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: program up-api|up-access|refresh|destroy")
		os.Exit(2)
	}
	result, err := run(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
