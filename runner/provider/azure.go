package provider

import (
	"errors"
	"net/url"
	"strings"

	"github.com/rubric-eval/rubric/evals"
)

// AzureConfig is an azure target's own fields. Azure OpenAI speaks OpenAI's
// chat completions protocol at its own addresses, with the API key in an
// api-key header: a deployment's,
//
//	{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…
//
// whose URL names the model, or, without a deployment, the v1 API's,
//
//	{endpoint}/openai/v1/chat/completions
//
// with the deployment's name as the model in the body. Everything else is
// the openai provider's: it is that provider, built at these addresses.
type AzureConfig struct {
	// Endpoint is the resource's endpoint, https://NAME.openai.azure.com.
	Endpoint string `json:"endpoint,omitempty"`
	// Deployment, when set, sends to the deployment's path, which needs
	// APIVersion; without it, requests go to the v1 API.
	Deployment string `json:"deployment,omitempty"`
	// APIVersion is the api-version query parameter: required with a
	// deployment, optional with the v1 API (preview).
	APIVersion string `json:"api_version,omitempty"`
	// APIKeyEnv names the environment variable holding the API key, sent in
	// the api-key header.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// Headers, ExtraBody and Stream are as for openai.
	Headers   map[string]string `json:"headers,omitempty"`
	ExtraBody map[string]any    `json:"extra_body,omitempty"`
	Stream    bool              `json:"stream,omitempty"`
	// Batch sends the requests through Azure's global batch (the files and
	// batches of the resource; docs/batch.md).
	Batch bool `json:"batch,omitempty"`
}

// NewAzure builds an Azure OpenAI provider: the OpenAI provider, sending to
// the deployment's or the v1 API's address with the key in api-key.
func NewAzure(cfg AzureConfig, spec evals.TargetSpec, env Env) (*OpenAI, error) {
	const name = "azure"
	var errs []error
	base, err := azureEndpoint(cfg.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	c := compatible{keyHeader: "Api-Key", sendModel: true,
		apiKeyEnv: cfg.APIKeyEnv, headers: cfg.Headers, extraBody: cfg.ExtraBody, stream: cfg.Stream,
		batch: cfg.Batch, batchTrim: "/chat/completions", batchLine: "/chat/completions"}
	switch {
	case cfg.Deployment == "":
		if spec.Model == "" {
			errs = append(errs, evals.FieldErrorf("model", "required by provider %q without a deployment: the name of the deployment, which the v1 API takes as the model", name))
		}
		if base != nil {
			base = base.JoinPath("openai", "v1")
		}
	case !validDeployment(cfg.Deployment):
		errs = append(errs, evals.FieldErrorf("deployment", "%q is not a deployment name: letters, digits, '-', '_' and '.'", cfg.Deployment))
	default:
		if cfg.APIVersion == "" {
			errs = append(errs, evals.FieldErrorf("api_version", "required with deployment: the API version of the deployments path, such as 2024-10-21"))
		}
		// The deployment's path names the model; the body does not, but
		// in a batch, whose lines all go to the resource's files and
		// batches, where the body names the (global batch) deployment.
		c.sendModel = false
		if cfg.Batch {
			c.sendModel, c.model = true, cfg.Deployment
			c.batchTrim = "/deployments/" + cfg.Deployment + "/chat/completions"
		}
		if base != nil {
			base = base.JoinPath("openai", "deployments", cfg.Deployment)
		}
	}
	if base != nil && cfg.APIVersion != "" {
		base.RawQuery = url.Values{"api-version": {cfg.APIVersion}}.Encode()
	}
	if base != nil {
		// What BaseURL reports, and the cache keys on: the API's base, the
		// deployment and api-version included.
		c.base = base.String()
		c.chat = base.JoinPath("chat", "completions")
	}
	return newCompatible(c, errs, spec, env)
}

// azureEndpoint checks the endpoint a target gives, and returns it parsed,
// its path ending in one slash.
func azureEndpoint(s string) (*url.URL, error) {
	const field = "endpoint"
	if s == "" {
		return nil, evals.FieldErrorf(field, "required by provider %q (for example https://NAME.openai.azure.com)", "azure")
	}
	u, err := url.Parse(s)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, evals.FieldErrorf(field, "not a URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, evals.FieldErrorf(field, "%q is not an http or https URL such as https://NAME.openai.azure.com", redactedURL(u))
	case u.Host == "":
		return nil, evals.FieldErrorf(field, "%q has no host", redactedURL(u))
	case u.RawQuery != "" || u.Fragment != "":
		return nil, evals.FieldErrorf(field, "%q has a query or fragment: give the api-version in api_version", redactedURL(u))
	}
	path := strings.TrimRight(u.Path, "/")
	if path == "/openai" || strings.Contains(path+"/", "/openai/") {
		return nil, evals.FieldErrorf(field, "%q goes into the API: give the resource's endpoint, such as https://NAME.openai.azure.com, and the deployment in deployment; the provider adds /openai/deployments/… or /openai/v1/…", redactedURL(u))
	}
	// A path from the root, which JoinPath extends.
	u.Path, u.RawPath = path+"/", ""
	return u, nil
}

// validDeployment reports whether s can be a deployment's name, one segment
// of a path: letters, digits, '-', '_' and '.', but not "." or "..".
func validDeployment(s string) bool {
	if s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
