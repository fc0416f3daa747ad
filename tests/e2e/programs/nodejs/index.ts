// A TypeScript program on the generated SDK, run as an Automation API inline program.
// Usage: node bin/index.js up-api|up-access|refresh|destroy   (env: PULUMI_CLI_ROOT, WORK_DIR, NATIVE_CONFIG)
import * as pulumi from "@pulumi/pulumi";
import { ConfigMap, LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import * as sgbitbucket from "@stackguardian/sgbitbucket";

const step = process.argv[2];

function program(access: boolean): pulumi.automation.PulumiFn {
    return async () => {
        const config = new pulumi.Config();
        const main = new sgbitbucket.Connector("main", access ? {
            name: "nodejs-main",
            workspace: "acme",
            authType: sgbitbucket.AuthType.AccessToken,
            accessTokenScope: sgbitbucket.AccessTokenScope.Workspace,
            accessToken: config.requireSecret("token_access"),
        } : {
            name: "nodejs-main",
            workspace: "acme",
            description: "from TypeScript",
            authType: sgbitbucket.AuthType.ApiToken,
            username: "alice",
            email: "alice@acme.io",
            apiToken: config.requireSecret("token_api"),
        });
        const found = sgbitbucket.getConnectorOutput({ connectorId: main.connectorId });
        return { connectorId: main.connectorId, authType: main.authType, lookedUpName: found.name };
    };
}

async function main(): Promise<void> {
    const pulumiCommand = await PulumiCommand.get({ root: process.env.PULUMI_CLI_ROOT!, skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: "e2e", projectName: "native-nodejs", program: program(step === "up-access") },
        { workDir: process.env.WORK_DIR!, pulumiCommand, secretsProvider: "passphrase",
          projectSettings: { name: "native-nodejs", runtime: "nodejs" } },
    );
    await stack.setAllConfig(JSON.parse(process.env.NATIVE_CONFIG!) as ConfigMap);
    const onOutput = (text: string) => process.stderr.write(text);
    let result: unknown;
    if (step === "up-api" || step === "up-access") {
        const up = await stack.up({ onOutput });
        result = { outputs: Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value])),
                   summary: up.summary.resourceChanges };
    } else if (step === "refresh") {
        result = { summary: (await stack.refresh({ onOutput })).summary.resourceChanges };
    } else if (step === "destroy") {
        result = { summary: (await stack.destroy({ onOutput })).summary.resourceChanges };
    } else {
        throw new Error(`unknown step ${step}`);
    }
    process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
});
