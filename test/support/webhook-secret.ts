// The webhook secret of the test receiver, importable from Node and from workerd alike.
export const TEST_WEBHOOK_SECRET = `whsec_${btoa("aegis-edge-test-webhook-secret!!")}`;
