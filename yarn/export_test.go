package yarn

// HDFSDelegationToken lets tests obtain the token a submission would.
var HDFSDelegationToken = (*Client).hdfsDelegationToken
