// The listings the fast paths answer (fast.ts), each on the store STRATA_HOME
// names. A bundle of its own (dist/listings.cjs, scripts/bundle.js): help and
// --version, which need none of the store's code, don't load it.
import {Home} from '../store/home.js'
import {asStrataError} from '../errors.js'
import {layerList, sessionList, sessionPath, stackList} from './views.js'

export const listings = {
  // what the listings throw, as the error to report: this bundle's own StrataError is the one they throw
  asStrataError,
  stackList: () => stackList(new Home()),
  layerList: () => layerList(new Home()),
  sessionList: () => sessionList(new Home()),
  sessionPath: (stack: string) => sessionPath(new Home(), stack),
}
export type Listings = typeof listings
